// Every host of the user's host list (hosts.yaml, `roost hosts add`) with its VMs, as `roost ls --all-hosts`
// shows them, kept live: this server's own rows by the page's event stream, the other hosts' by a stream of their
// own (useHostsLive) that is open while this view is shown. A VM started, stopped, defined or removed on any host
// shows here as it happens; a host that does not answer or goes down is one row saying why, and comes back by
// itself when the server reaches it again. The server reads the list; the page names no host and sends no URI.
import { linkText, useHostsLive } from '../live.js';
import { StateBadge } from './VmList.js';
import type { HostVms, VmSummary } from '../../../src/shared/api-types.js';

/** `local`: this server's VMs as the event stream keeps them, so that host's rows stay live here too. */
export function Hosts({ local }: { local: VmSummary[] }) {
  const { hosts, link } = useHostsLive();
  return (
    <div class="hosts">
      <div class="row">
        <h2>All hosts</h2>
        <span class={`link link-${link}`} role="status" data-hosts-link={link}>
          {linkText(link)}
        </span>
      </div>
      <p class="muted">
        This host and every host of your list (<code>roost hosts add NAME URI</code>), each followed live: a
        host that goes down is asked again by itself.
      </p>
      {!hosts && <p class="muted">Asking every host…</p>}
      {hosts && (
        <table class="vms all-hosts">
          <caption class="sr-only">Virtual machines of every host</caption>
          <thead>
            <tr>
              <th scope="col">Host</th>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">CPUs</th>
              <th scope="col">Memory</th>
              <th scope="col">Ports</th>
            </tr>
          </thead>
          <tbody>
            {hosts.map((h) => (h.host === 'local' && h.vms ? { ...h, vms: local } : h)).flatMap(hostRows)}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** A host's VMs, one row each; a host without any, or that gave no answer, one row saying so. */
function hostRows(h: HostVms) {
  const host = (
    <td data-label="Host" title={h.uri}>
      {h.host}
    </td>
  );
  if (!h.vms) {
    return [
      <tr key={h.host} data-host={h.host} data-host-down="true">
        {host}
        <td colSpan={5} class="error" data-label="Error">
          {h.error?.message ?? 'no answer'}
          {h.error?.hint && <span class="muted"> Fix: {h.error.hint}</span>}
        </td>
      </tr>,
    ];
  }
  if (h.vms.length === 0) {
    return [
      <tr key={h.host} data-host={h.host}>
        {host}
        <td colSpan={5} class="muted">
          no VMs
        </td>
      </tr>,
    ];
  }
  return h.vms.map((vm) => (
    <tr key={`${h.host}/${vm.name}`} data-host={h.host} data-vm={vm.name} data-state={vm.state}>
      {host}
      <th scope="row" data-label="Name">
        {vm.name}
      </th>
      <td data-label="State">
        <StateBadge state={vm.state} />
      </td>
      <td data-label="CPUs">{vm.cpus}</td>
      <td data-label="Memory">{vm.memoryMiB} MiB</td>
      <td data-label="Ports">{vm.ports.length ? vm.ports.join(', ') : '—'}</td>
    </tr>
  ));
}
