// roost edit NAME --cpus N --memory SIZE --disk SIZE: change a VM's persistent configuration. The domain XML is
// edited in place (domain-xml/edit.ts keeps every element roost does not model: a hand-made domain stays as it
// was in everything but the edited values) and defined again. A running VM gets the change at its next start.
// --disk grows the VM's main disk at once: a shut-off VM's volume is resized, a running VM's disk is grown
// through QEMU (block resize); the guest's root filesystem grows at its next boot (cloud-init's growpart and
// resize_rootfs, on by default in cloud images). A disk never shrinks: that would cut off the guest's data.
import { parseDomainXml } from '../domain-xml/parse.js';
import { setMemory, setVcpus } from '../domain-xml/edit.js';
import { RoostError, UsageError } from '../errors.js';
import { isNotFound } from '../libvirt/errors.js';
import { DomainDefineFlags, DomainXmlFlags, type Domain } from '../libvirt/types.js';
import type { EditedVm } from '../shared/vms.js';
import type { VmContext } from './context.js';
import { checkDiskBytes, parseCpus, parseDiskGrowth, parseMemoryMiB, type DiskGrowth } from './input.js';
import { checkMemoryFitsHost } from './host-memory.js';
import { lookupVm } from './lookup.js';

export interface EditRequest {
  cpus?: string;
  memory?: string;
  /** The main disk's new size (40G), or how much to add (+10G); it only grows. */
  disk?: string;
}

/** The change, as `roost edit --json` prints it. */
export type EditResult = EditedVm;

export async function editVm(ctx: VmContext, name: string, req: EditRequest): Promise<EditResult> {
  const cpus = req.cpus === undefined ? undefined : parseCpus(req.cpus);
  const memoryMiB = req.memory === undefined ? undefined : parseMemoryMiB(req.memory);
  const growth = req.disk === undefined ? undefined : parseDiskGrowth(req.disk);
  if (cpus === undefined && memoryMiB === undefined && growth === undefined) {
    throw new UsageError('NOTHING_TO_EDIT', 'nothing to change: give --cpus, --memory and/or --disk', {
      hint: `for example: roost edit ${name} --cpus 4 --memory 4G`,
    });
  }
  if (memoryMiB !== undefined) checkMemoryFitsHost(ctx.uri, memoryMiB, req.memory);
  const dom = await lookupVm(ctx, name);
  // SECURE keeps passwords (e.g. a VNC password) in the XML we write back; INACTIVE is the persistent config.
  let xml = await ctx.client.getXml(dom, DomainXmlFlags.INACTIVE | DomainXmlFlags.SECURE);
  const changed: string[] = [];
  if (growth !== undefined) {
    const grown = await growDisk(ctx, dom, xml, growth, req.disk!);
    changed.push(grown);
    if (cpus === undefined && memoryMiB === undefined) {
      return { name, changed, pendingRestart: false };
    }
  }
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

const BLOCK_RESIZE_BYTES = 1;

/**
 * Grows the VM's first writable disk to a size or by an amount: a volume resize when shut off, QEMU's block resize
 * when it runs. Refuses (exit 2, nothing changed) a smaller size, and a disk that is not a volume of a libvirt pool.
 */
async function growDisk(
  ctx: VmContext,
  dom: Domain,
  xml: string,
  growth: DiskGrowth,
  text: string,
): Promise<string> {
  const { client } = ctx;
  const disk = parseDomainXml(xml).disks.find((d) => d.device === 'disk' && !d.readonly);
  if (disk?.path === undefined) {
    throw new UsageError('NO_DISK', `VM '${dom.name}' has no writable file disk to grow`);
  }
  const vol = await client.lookupVolumeByPath(disk.path).catch((e: unknown) => {
    if (!isNotFound(e)) throw e;
    throw new UsageError(
      'DISK_NOT_ROOSTS',
      `${disk.path} is not a volume of a libvirt storage pool: roost grows only disks libvirt manages`,
      { hint: `shut the VM down and grow it by hand: qemu-img resize ${disk.path} ${text}` },
    );
  });
  const { capacity } = await client.getVolumeInfo(vol);
  const now = Number(capacity);
  const bytes = 'to' in growth ? growth.to : checkDiskBytes(now + growth.by, text);
  if (bytes < now) {
    throw new UsageError(
      'DISK_SHRINK',
      `the disk of VM '${dom.name}' is ${sizeText(now)}: it cannot shrink to ${sizeText(bytes)} (that would cut off the guest's data)`,
      { hint: `give a size of ${sizeText(now)} or more` },
    );
  }
  if (bytes === now) return `disk already ${sizeText(now)}`;
  if (await client.isActive(dom)) {
    if (disk.target === undefined) throw new RoostError('NO_DISK_TARGET', `${disk.path} has no target name`);
    await client.blockResize(dom, disk.target, BigInt(bytes), BLOCK_RESIZE_BYTES);
  } else {
    await client.resizeVolume(vol, BigInt(bytes));
  }
  return `disk ${sizeText(now)} → ${sizeText(bytes)} (the guest's root grows at its next boot)`;
}

function sizeText(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  if (gib >= 1) return `${Number(gib.toFixed(2))} GiB`;
  return `${Number((bytes / 1024 ** 2).toFixed(1))} MiB`;
}
