// The VM table: name, live state, size, use over the last minutes, ports (web ones as links to the guest's
// app), actions. On a phone it becomes a list of cards.
import { useState } from 'preact/hooks';
import type { VmStats, VmSummary } from '../../../src/shared/api-types.js';
import { portLink } from '../../../src/shared/port-links.js';
import { Sparklines } from './Charts.js';
import { ErrorText, type Failure } from './ErrorText.js';
import { VmActions } from './VmActions.js';

export function StateBadge({ state }: { state: VmSummary['state'] }) {
  return <span class={`state state-${state}`}>{state}</span>;
}

export function VmList(props: {
  vms: VmSummary[];
  selected: string | null;
  onSelect: (name: string) => void;
  stats: Record<string, VmStats[]>;
}) {
  const [failed, setFailed] = useState<{ vm: string; error: Failure } | null>(null);
  if (props.vms.length === 0) {
    return (
      <p class="empty" data-testid="no-vms">
        No VMs yet. Create one under <em>New machine</em>, or with <code>roost create</code>: it shows up here
        at once.
      </p>
    );
  }
  return (
    <>
      {failed && <ErrorText error={failed.error} prefix={failed.vm} />}
      <table class="vms">
        <caption class="sr-only">Virtual machines</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">State</th>
            <th scope="col">CPUs</th>
            <th scope="col">Memory</th>
            <th scope="col">Use (10 min)</th>
            <th scope="col">Ports</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {props.vms.map((vm) => (
            <tr
              key={vm.name}
              data-vm={vm.name}
              data-state={vm.state}
              class={props.selected === vm.name ? 'selected' : ''}
            >
              <th scope="row" data-label="Name">
                <button
                  type="button"
                  class="link-button"
                  aria-expanded={props.selected === vm.name}
                  onClick={() => props.onSelect(vm.name)}
                >
                  {vm.name}
                </button>
                {vm.managedBy !== 'roost' && <span class="muted"> (not made by roost)</span>}
              </th>
              <td data-label="State">
                <StateBadge state={vm.state} />
              </td>
              <td data-label="CPUs">{vm.cpus}</td>
              <td data-label="Memory">{vm.memoryMiB} MiB</td>
              <td data-label="Use" class="use">
                {vm.state === 'running' || props.stats[vm.name]?.length ? (
                  <Sparklines samples={props.stats[vm.name] ?? []} />
                ) : (
                  <span class="muted">—</span>
                )}
              </td>
              <td data-label="Ports" class="ports">
                {vm.ports.length ? (
                  vm.ports.map((p) => <Port key={p} spec={p} live={vm.state === 'running'} />)
                ) : (
                  <span class="muted">—</span>
                )}
              </td>
              <td data-label="Actions">
                <VmActions vm={vm} onError={setFailed} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/**
 * A forward; one to a guest web port is a link that opens the guest's app in a new tab. The app is another
 * origin (another port): it cannot read this page's session, and gets no opener and no referrer.
 */
function Port({ spec, live }: { spec: string; live: boolean }) {
  // A stopped VM's app answers nothing: no link until it runs.
  const href = live ? portLink(spec) : null;
  if (!href) return <code>{spec}</code>;
  return (
    <code>
      <a href={href} target="_blank" rel="noopener noreferrer" title={`Open ${href} in a new tab`}>
        {spec}
      </a>
    </code>
  );
}
