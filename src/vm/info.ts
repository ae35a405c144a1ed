// roost info NAME (and GET /api/vms/:name): everything roost knows about one VM, its address included.
import type { VmAddresses } from '../shared/ports.js';
import type { VmInfo } from '../shared/vms.js';
import type { VmContext } from './context.js';
import { vmAddresses } from './ip.js';
import { vmDetails } from './list.js';
import { vmInfo } from './wire.js';

/**
 * The VM's details and its address as `roost ip` finds it (asking the guest agent briefly). Looking for the
 * address never fails the whole: `addresses` is null when the VM is stopped or the search failed.
 */
export async function describeVm(
  ctx: VmContext,
  name: string,
): Promise<{ info: VmInfo; addresses: VmAddresses | null }> {
  const details = await vmDetails(ctx, name);
  const addresses =
    details.state === 'running' ? await vmAddresses(ctx, name, { agentTimeoutS: 1 }).catch(() => null) : null;
  return { info: vmInfo(details, addresses), addresses };
}
