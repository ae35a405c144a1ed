// roost edit NAME --cpus N --memory SIZE: change a VM's persistent configuration. The domain XML is edited in
// place (domain-xml/edit.ts keeps every element roost does not model: a hand-made domain stays as it was in
// everything but the edited values) and defined again. A running VM gets the change at its next start.
import { setMemory, setVcpus } from '../domain-xml/edit.js';
import { UsageError } from '../errors.js';
import { DomainDefineFlags, DomainXmlFlags } from '../libvirt/types.js';
import type { EditedVm } from '../shared/vms.js';
import type { VmContext } from './context.js';
import { parseCpus, parseMemoryMiB } from './input.js';
import { checkMemoryFitsHost } from './host-memory.js';
import { lookupVm } from './lookup.js';

export interface EditRequest {
  cpus?: string;
  memory?: string;
}

/** The change, as `roost edit --json` prints it. */
export type EditResult = EditedVm;

export async function editVm(ctx: VmContext, name: string, req: EditRequest): Promise<EditResult> {
  const cpus = req.cpus === undefined ? undefined : parseCpus(req.cpus);
  const memoryMiB = req.memory === undefined ? undefined : parseMemoryMiB(req.memory);
  if (cpus === undefined && memoryMiB === undefined) {
    throw new UsageError('NOTHING_TO_EDIT', 'nothing to change: give --cpus and/or --memory', {
      hint: `for example: roost edit ${name} --cpus 4 --memory 4G`,
    });
  }
  if (memoryMiB !== undefined) checkMemoryFitsHost(ctx.uri, memoryMiB, req.memory);
  const dom = await lookupVm(ctx, name);
  // SECURE keeps passwords (e.g. a VNC password) in the XML we write back; INACTIVE is the persistent config.
  let xml = await ctx.client.getXml(dom, DomainXmlFlags.INACTIVE | DomainXmlFlags.SECURE);
  const changed: string[] = [];
  if (cpus !== undefined) {
    xml = setVcpus(xml, cpus);
    changed.push(`cpus ${cpus}`);
  }
  if (memoryMiB !== undefined) {
    xml = setMemory(xml, memoryMiB);
    changed.push(`memory ${memoryMiB} MiB`);
  }
  await ctx.client.defineDomain(xml, DomainDefineFlags.VALIDATE);
  return { name, changed, pendingRestart: await ctx.client.isActive(dom) };
}
