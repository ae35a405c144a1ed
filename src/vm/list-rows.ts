// What `roost ls` (and `roost info`) show of a VM, built from its state and domain XML.
import { nicSource } from '../domain-xml/parse.js';
import type { DomainSummary } from '../domain-xml/summary.js';
import type { Domain } from '../libvirt/types.js';
import { formatPortForward } from '../net/port-spec.js';
import type { VmSummary } from '../shared/api-types.js';
import { autostartVms, checkAutostartUri } from './autostart.js';
import type { VmContext } from './context.js';
import { toPortForward } from './forwards.js';
import { formatUuid, stateName } from './lookup.js';

// Each XML is read for its summary only (domain-xml/summary.ts), a fraction of a full parse: `ls` reads them all.
export { parseDomainSummary } from '../domain-xml/summary.js';

export function summarize(
  dom: Domain,
  state: number,
  p: DomainSummary,
  autostart: ReadonlySet<string>,
): VmSummary {
  return {
    name: dom.name,
    uuid: formatUuid(dom.uuid),
    state: stateName(state),
    accel: p.accel ?? p.domainType,
    cpus: p.cpus,
    memoryMiB: p.memoryMiB,
    ports: p.nics.flatMap((n) => n.ports.map((f) => formatPortForward(toPortForward(f)))),
    networks: p.nics.map((n) =>
      n.type === 'user' ? `user${n.backend === 'passt' ? '' : ` (${n.backend})`}` : nicSource(n),
    ),
    managedBy: p.managedByRoost ? 'roost' : 'other',
    autostart: autostart.has(dom.name),
  };
}

/**
 * The VMs roost's user units start at login: local files, read once per listing. Only a local session
 * connection's VMs are what those units start; a VM of the same name elsewhere is not.
 */
export function startsAtLogin(ctx: VmContext): ReadonlySet<string> {
  try {
    checkAutostartUri(ctx.uri);
  } catch {
    return new Set();
  }
  return autostartVms(ctx.env);
}
