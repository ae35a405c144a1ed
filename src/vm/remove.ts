// roost rm NAME: destroy + undefine with NVRAM, snapshot and checkpoint metadata, and the VM's own disks.
//
// What counts as the VM's own: writable disks that are volumes of roost's pool (roost made them). A base image,
// an ISO, a kernel, or a disk a hand-made domain keeps elsewhere is never deleted — a typo in a name must not
// cost someone a disk they did not give to roost. A running VM needs --force, for the same reason.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseDomainXml } from '../domain-xml/parse.js';
import { RoostError } from '../errors.js';
import type { VmContext } from './context.js';
import { lookupVm } from './lookup.js';
import { deleteVolumeAt } from './storage.js';
import { forgetHostKey, syncSshConfig } from './ssh.js';

const DESTROY_REMOVE_LOGS = 2;
const UNDEFINE = { MANAGED_SAVE: 1, SNAPSHOTS_METADATA: 2, NVRAM: 4, CHECKPOINTS_METADATA: 16 } as const;

export interface RemoveOptions {
  force?: boolean;
  keepStorage?: boolean;
}

export interface RemoveResult {
  name: string;
  destroyed: boolean;
  deletedDisks: string[];
  keptDisks: string[];
}

export async function removeVm(
  ctx: VmContext,
  name: string,
  opts: RemoveOptions = {},
): Promise<RemoveResult> {
  const { client, paths } = ctx;
  const dom = await lookupVm(ctx, name);
  const running = await client.isActive(dom);
  if (running && !opts.force) {
    throw new RoostError('VM_RUNNING', `VM '${name}' is running; it was not removed`, {
      hint: `stop it first (roost stop ${name}), or remove it anyway: roost rm --force ${name}`,
    });
  }
  const INACTIVE_XML = 2;
  const parsed = parseDomainXml(await client.getXml(dom, INACTIVE_XML));
  const ours = parsed.disks.filter(
    (d) => d.device === 'disk' && !d.readonly && d.path !== undefined && d.path.startsWith(paths.pool + '/'),
  );
  if (running) await client.destroyDomain(dom, DESTROY_REMOVE_LOGS);
  await client.undefineDomain(
    dom,
    UNDEFINE.MANAGED_SAVE | UNDEFINE.SNAPSHOTS_METADATA | UNDEFINE.NVRAM | UNDEFINE.CHECKPOINTS_METADATA,
  );
  const deletedDisks: string[] = [];
  // The cloud-init seed roost wrote for this VM is roost's own file too, and useless without the VM.
  const seedDir = join(paths.data, 'seeds') + '/';
  const seeds = parsed.disks.filter((d) => d.device === 'cdrom' && d.path?.startsWith(seedDir));
  const keptDisks = parsed.disks
    .filter((d) => d.path && !ours.includes(d) && !seeds.includes(d))
    .map((d) => d.path!);
  if (opts.keepStorage) keptDisks.push(...ours.map((d) => d.path!));
  else {
    for (const d of ours) {
      try {
        if (await deleteVolumeAt(client, d.path!)) deletedDisks.push(d.path!);
      } catch (e) {
        throw new RoostError(
          'DISK_DELETE_FAILED',
          `VM '${name}' was removed but its disk ${d.path} was not: ${(e as Error).message}`,
          {
            hint: `delete it by hand: virsh vol-delete ${d.path}`,
            cause: e,
          },
        );
      }
    }
  }
  // roost's own per-VM files: the serial log it asked QEMU to write (libvirt removes the QEMU log itself).
  if (parsed.serialLog?.startsWith(paths.logs + '/')) rmSync(parsed.serialLog, { force: true });
  rmSync(join(paths.sockets, `${name}.vnc`), { force: true });
  for (const d of seeds) rmSync(d.path!, { force: true });
  forgetHostKey(paths, name);
  if (parsed.roost?.sshUser) await syncSshConfig(ctx).catch(() => undefined);
  return { name, destroyed: running, deletedDisks, keptDisks };
}
