// roost ls: every VM's state and summary, read on one connection. Domains made by hand (virsh define,
// virt-manager) are listed too; `managedBy` says which are roost's. The rows are built by list-rows.ts, and
// `roost info`'s details by details.ts.
import { afterCallsSent } from '../libvirt/calls-sent.js';
import type { LibvirtClient } from '../libvirt/api.js';
import { DomainState, type Domain } from '../libvirt/types.js';
import type { VmSummary } from '../shared/api-types.js';
import type { VmContext } from './context.js';
import { readEachVm } from './lookup.js';

export type { VmSummary } from '../shared/api-types.js';

/**
 * A VM's state and its XML. A domain that is not running (id -1) is shut off whatever else is true of it, so
 * only running ones are asked: `roost ls` of 50 stopped VMs makes 51 calls, not 101.
 */
export function readStateAndXml(client: LibvirtClient, dom: Domain): Promise<{ state: number; xml: string }> {
  if (dom.id < 0) return client.getXml(dom).then((xml) => ({ state: DomainState.SHUTOFF, xml }));
  return Promise.all([client.getState(dom), client.getXml(dom)]).then(([s, xml]) => ({
    state: s.state,
    xml,
  }));
}

type Rows = typeof import('./list-rows.js');

/**
 * All VMs, sorted by name. Calls are pipelined: one round trip's latency for any number of VMs. The code that
 * reads the answers (list-rows.ts and the XML readers behind it) loads once the calls are on their way, while
 * the daemon works on them: in a short-lived `roost ls` that loading would otherwise come before the first call.
 * A VM removed while it is read is left out (lookup.ts readEachVm).
 */
export async function listVms(ctx: VmContext): Promise<VmSummary[]> {
  const doms = await ctx.client.listDomains();
  let rows: Rows | undefined;
  const loading = afterCallsSent()
    .then(() => import('./list-rows.js'))
    .then((m) => (rows = m));
  const read = await readEachVm(doms, async (d) => {
    const { state, xml } = await readStateAndXml(ctx.client, d);
    return { state, summary: (rows ?? (await loading)).parseDomainSummary(xml) };
  });
  const { summarize, startsAtLogin } = rows ?? (await loading);
  const autostart = startsAtLogin(ctx);
  return read.map(({ dom, value }) => summarize(dom, value.state, value.summary, autostart)).sort(byName);
}

// Code-unit order, as virsh prints: localeCompare would first load ICU's collator, a large cost for `roost ls`.
function byName(a: VmSummary, b: VmSummary): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
