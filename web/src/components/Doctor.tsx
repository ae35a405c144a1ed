// The host check (`roost doctor`): every check with its status, and the exact fix for each problem.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { asFailure, ErrorText, type Failure } from './ErrorText.js';
import type { DoctorReport } from '../../../src/shared/api-types.js';

const MARK = { ok: '✓', warn: '!', fail: '✗' } as const;

export function Doctor() {
  const [report, setReport] = useState<DoctorReport | null>(null);
  const [error, setError] = useState<Failure>(null);
  const [busy, setBusy] = useState(false);
  const run = () => {
    setBusy(true);
    setError(null);
    api
      .doctor()
      .then(setReport, (e: unknown) => setError(asFailure(e)))
      .finally(() => setBusy(false));
  };
  useEffect(run, []);
  return (
    <div class="doctor">
      <div class="row">
        <h2>Host check</h2>
        <button type="button" disabled={busy} onClick={run}>
          {busy ? 'Checking…' : 'Check again'}
        </button>
      </div>
      <ErrorText error={error} />
      {report && (
        <>
          <p class={report.ok ? 'note' : 'error'} data-testid="doctor-summary">
            {report.ok
              ? 'This host can run VMs.'
              : 'roost cannot run VMs here until the failed checks are fixed.'}
          </p>
          <ul class="checks">
            {report.checks.map((c) => (
              <li key={c.id} class={`check check-${c.status}`}>
                <span class="mark" aria-label={c.status}>
                  {MARK[c.status]}
                </span>
                <div>
                  <strong>{c.title}</strong> <span>{c.detail}</span>
                  {c.fix && c.status !== 'ok' && <pre class="fix">{c.fix}</pre>}
                </div>
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
