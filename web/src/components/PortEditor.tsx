// A VM's port forwards: the list (with whether the running VM has each one yet), add, remove.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { asFailure, ErrorText, type Failure } from './ErrorText.js';
import type { ForwardState, PortChangeResult, PortList, VmSummary } from '../../../src/shared/api-types.js';

// Keyed by the shared ForwardState: a new state on the server fails the page's type check until it is named here.
const STATE: Record<ForwardState, string> = {
  active: 'active',
  'next-start': 'at next start',
  'removed-at-next-start': 'until the VM stops',
  configured: 'configured',
  auto: 'automatic (ssh)',
};

function describe(r: PortChangeResult): string {
  switch (r.applied) {
    case 'unchanged':
      return 'Nothing to change.';
    case 'stopped':
      return 'Saved: applies when the VM starts.';
    case 'live-update':
    case 'replug':
      return 'Applied to the running VM.';
    case 'next-start':
      return `Saved: applies at the next start${r.reason ? ` (${r.reason})` : ''}.`;
  }
}

export function PortEditor({ vm }: { vm: VmSummary }) {
  const [list, setList] = useState<PortList | null>(null);
  const [spec, setSpec] = useState('');
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<Failure>(null);
  const [busy, setBusy] = useState(false);
  const load = () => api.ports(vm.name).then(setList, (e: unknown) => setError(asFailure(e)));
  // The list reloads when the VM's ports or state change (the event stream updates `vm`).
  useEffect(() => void load(), [vm.name, vm.state, vm.ports.join(' ')]);

  const change = async (fn: () => Promise<PortChangeResult>) => {
    setBusy(true);
    setNote(null);
    setError(null);
    try {
      const r = await fn();
      setNote([describe(r), ...r.warnings].join(' '));
      setSpec('');
      await load();
    } catch (e) {
      setError(asFailure(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="ports-editor">
      {list && list.mac === null && (
        <p class="muted">This VM has no passt network interface: no ports to forward.</p>
      )}
      {list && list.ports.length > 0 && (
        <table class="port-table">
          <caption class="sr-only">Port forwards of {vm.name}</caption>
          <thead>
            <tr>
              <th scope="col">Forward</th>
              <th scope="col">State</th>
              <th scope="col">
                <span class="sr-only">Remove</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.ports.map((p) => (
              <tr key={p.spec} data-port={p.spec}>
                <td>
                  <code>{p.spec}</code>
                  {p.exposed && <span class="warn"> reachable from the network</span>}
                </td>
                <td>{STATE[p.state]}</td>
                <td>
                  <button
                    type="button"
                    disabled={busy}
                    aria-label={`Remove ${p.spec}`}
                    onClick={() => change(() => api.removePort(vm.name, p.spec))}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list && list.mac !== null && list.ports.length === 0 && <p class="muted">No forwards yet.</p>}
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (spec.trim()) void change(() => api.addPort(vm.name, spec.trim()));
        }}
      >
        <label>
          Add a forward <span class="muted">[ADDR:]HOST:GUEST[/udp]</span>
          <input
            name="spec"
            value={spec}
            placeholder="8080:80"
            required
            onInput={(e) => setSpec(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          Add
        </button>
      </form>
      {note && (
        <p class="note" role="status">
          {note}
        </p>
      )}
      <ErrorText error={error} />
    </div>
  );
}
