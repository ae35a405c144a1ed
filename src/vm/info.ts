// roost info NAME (and GET /api/vms/:name): everything roost knows about one VM, its address and snapshots included.
import type { Domain } from '../libvirt/types.js';
import type { VmAddresses } from '../shared/ports.js';
import type { SnapshotSummary } from '../shared/state.js';
import type { VmInfo } from '../shared/vms.js';
import type { VmContext } from './context.js';
import { vmAddresses } from './ip.js';
import { vmDetails } from './details.js';
import { readVm } from './lookup.js';
import { vmInfo } from './wire.js';

/**
 * The VM's details, its snapshots' count, and its address as `roost ip` finds it (asking the guest agent
 * briefly). Looking for the address never fails the whole: `addresses` is null when the VM is stopped or the
 * search failed.
 */
export async function describeVm(
  ctx: VmContext,
  name: string,
): Promise<{ info: VmInfo; addresses: VmAddresses | null }> {
  // Both read at once: one round trip's latency more than the details alone.
  const [details, snapshots] = await Promise.all([
    vmDetails(ctx, name),
    // readVm: a VM removed between the lookup and the snapshot calls is "no VM named", not libvirt's uuid error.
    readVm(ctx, name, (dom) => snapshotSummary(ctx, dom)),
  ]);
  const addresses =
    details.state === 'running' ? await vmAddresses(ctx, name, { agentTimeoutS: 1 }).catch(() => null) : null;
  return { info: vmInfo(details, addresses, snapshots), addresses };
}

/** How many snapshots the VM has (libvirt lists their handles, not their XML) and which is current. */
export async function snapshotSummary(ctx: VmContext, dom: Domain): Promise<SnapshotSummary> {
  const [snaps, current] = await Promise.all([
    ctx.client.listSnapshots(dom),
    ctx.client
      .hasCurrentSnapshot(dom)
      .then((has) => (has ? ctx.client.currentSnapshot(dom).then((s) => s.name) : null)),
  ]);
  return { count: snaps.length, current };
}
