// A VM's logs, as `roost logs` prints them: what the guest wrote on its serial console, or QEMU's own log.
// Read when opened and on Refresh (a log only grows while the VM runs; no stream is kept open for it).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import type { VmLog, VmSummary } from '../../../src/shared/api-types.js';
import { cleanLog } from '../../../src/shared/log-text.js';
import { asFailure, ErrorText, type Failure } from './ErrorText.js';

type Kind = VmLog['kind'];

export function VmLogs({ vm }: { vm: VmSummary }) {
  const [kind, setKind] = useState<Kind>('serial');
  const [log, setLog] = useState<VmLog | null>(null);
  const [error, setError] = useState<Failure>(null);
  const [busy, setBusy] = useState(false);
  const pre = useRef<HTMLPreElement>(null);
  const load = () => {
    setBusy(true);
    setError(null);
    api
      .logs(vm.name, kind)
      .then(setLog, (e: unknown) => {
        setLog(null);
        setError(asFailure(e));
      })
      .finally(() => setBusy(false));
  };
  useEffect(load, [vm.name, kind, vm.state]);
  // The newest lines are what one opens a log for.
  useEffect(() => {
    if (pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [log]);

  return (
    <div class="logs" data-testid="logs">
      <div class="row">
        <fieldset class="inline-fields">
          <legend class="sr-only">Which log</legend>
          {(['serial', 'qemu'] as const).map((k) => (
            <label class="inline" key={k}>
              <input type="radio" name="log-kind" checked={kind === k} onChange={() => setKind(k)} />
              {k === 'serial' ? 'Serial console' : 'QEMU'}
            </label>
          ))}
        </fieldset>
        <button type="button" onClick={load} disabled={busy}>
          Refresh
        </button>
      </div>
      <ErrorText error={error} />
      {log && (
        <>
          <p class="muted">
            <code>{log.path}</code> —{' '}
            <code>
              roost logs {kind === 'qemu' ? '--qemu ' : ''}
              {vm.name}
            </code>
          </p>
          <pre
            class="log-text"
            ref={pre}
            role="region"
            tabIndex={0}
            aria-label={`${kind === 'qemu' ? 'QEMU' : 'Serial'} log of ${vm.name}`}
            data-log={kind}
          >
            {cleanLog(log.text) || '(empty)'}
          </pre>
        </>
      )}
    </div>
  );
}
