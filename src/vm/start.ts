// roost start: boots a defined VM. Starting one that already runs is not an error (the state asked for holds).
import { parseDomainXml } from '../domain-xml/parse.js';
import { RoostError } from '../errors.js';
import { LibvirtError } from '../libvirt/errors.js';
import type { VmContext } from './context.js';
import { lookupVm } from './lookup.js';

export interface StartResult {
  name: string;
  alreadyRunning: boolean;
  /** The VM was created with --auto-ports: the caller starts the watcher (vm/auto-ports.ts). */
  autoPorts: boolean;
}

export async function startVm(ctx: VmContext, name: string): Promise<StartResult> {
  const dom = await lookupVm(ctx, name);
  const autoPorts = parseDomainXml(await ctx.client.getXml(dom)).roost?.autoPorts === true;
  if (await ctx.client.isActive(dom)) return { name, alreadyRunning: true, autoPorts };
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
  return { name, alreadyRunning: false, autoPorts };
}
