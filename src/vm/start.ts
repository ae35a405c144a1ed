// roost start: boots a defined VM. Starting one that already runs is not an error (the state asked for holds).
import { RoostError } from '../errors.js';
import { LibvirtError } from '../libvirt/errors.js';
import type { VmContext } from './context.js';
import { lookupVm } from './lookup.js';

export async function startVm(
  ctx: VmContext,
  name: string,
): Promise<{ name: string; alreadyRunning: boolean }> {
  const dom = await lookupVm(ctx, name);
  if (await ctx.client.isActive(dom)) return { name, alreadyRunning: true };
  try {
    await ctx.client.startDomain(dom);
  } catch (e) {
    if (e instanceof LibvirtError) {
      throw new RoostError('START_FAILED', `VM '${name}' did not start: ${e.message}`, {
        hint: `see the VM's QEMU log: roost logs ${name} --qemu`,
        cause: e,
      });
    }
    throw e;
  }
  return { name, alreadyRunning: false };
}
