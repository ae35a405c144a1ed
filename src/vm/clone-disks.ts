// roost clone's disks: which of the source's it copies (its writable disks in roost's pool), and how — a full
// copy (libvirt's volume clone), or with --linked an overlay on a shared base that the source moves onto too
// (linked-base.ts), so that neither VM ever writes a file the other reads.
import { basename, join } from 'node:path';
import type { ParsedDisk, ParsedDomain } from '../domain-xml/parse.js';
import { RoostError, UsageError } from '../errors.js';
import type { LibvirtClient } from '../libvirt/api.js';
import { ConnectionClosedError, isNotFound, LibvirtError, VirErrorCode } from '../libvirt/errors.js';
import type { Domain, StoragePool, StorageVol } from '../libvirt/types.js';
import type { VmContext } from './context.js';
import { moveOntoBase, volumeFormat } from './linked-base.js';
import type { Rollback } from './rollback.js';
import type { Steps } from './steps.js';
import { createDisk, deleteVolumeAt, ensurePool, volumeXml } from './storage.js';

/** The clone's i-th disk: NAME.qcow2 like create's, then NAME-disk2.qcow2… */
export function diskVolumeName(name: string, i: number): string {
  return i === 0 ? `${name}.qcow2` : `${name}-disk${i + 1}.qcow2`;
}

async function volumeAt(client: LibvirtClient, path: string): Promise<StorageVol | undefined> {
  return client
    .lookupVolumeByPath(path)
    .catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
}

/** The source's writable disks, all in roost's pool, and no volume already under the clone's disk names. */
export async function checkCloneDisks(
  ctx: VmContext,
  source: string,
  name: string,
  parsed: ParsedDomain,
): Promise<ParsedDisk[]> {
  const { client } = ctx;
  const writable = parsed.disks.filter((d) => d.device === 'disk' && !d.readonly);
  const disks: ParsedDisk[] = [];
  for (const d of writable) {
    const vol = d.path === undefined ? undefined : await volumeAt(client, d.path);
    if (vol?.pool !== 'roost') {
      throw new UsageError(
        'DISK_NOT_ROOSTS',
        `VM '${source}' has a disk roost did not make (${d.path ?? d.type}): roost clones only disks in its own pool`,
        { hint: 'copy the VM by hand (virt-clone), or give it disks made by roost' },
      );
    }
    disks.push(d);
  }
  const { dir } = await ensurePool(client, ctx.paths);
  for (let i = 0; i < disks.length; i++) {
    const path = join(dir, diskVolumeName(name, i));
    if (await volumeAt(client, path)) {
      throw new UsageError('NAME_TAKEN', `a disk named ${basename(path)} is already in roost's pool`, {
        hint: `pick another name, or remove the leftover: roost rm ${name}`,
      });
    }
  }
  return disks;
}

/**
 * A linked clone moves the source's disk under a shared base; its snapshots record that disk by path (internal
 * ones are inside it), and would no longer describe the chain. A full copy has no such problem.
 */
export async function checkNoSnapshots(client: LibvirtClient, dom: Domain, source: string): Promise<void> {
  const snaps = await client.listSnapshots(dom);
  if (snaps.length === 0) return;
  throw new UsageError(
    'SOURCE_HAS_SNAPSHOTS',
    `VM '${source}' has snapshots (${snaps.map((s) => s.name).join(', ')}): a linked clone would move its disk from under them`,
    {
      hint: `make a full copy instead (leave out --linked), or remove its snapshots first (roost snapshot ls ${source})`,
    },
  );
}

export interface CloneDisksRequest {
  name: string;
  source: string;
  sourceDom: Domain;
  disks: ParsedDisk[];
  linked?: boolean;
}

/** The clone's disks, one step each (and for --linked, one to share each source disk first): source → clone. */
export async function cloneDisks(
  ctx: VmContext,
  req: CloneDisksRequest,
  steps: Steps,
  rollback: Rollback,
): Promise<Map<string, string>> {
  const { pool, dir } = await ensurePool(ctx.client, ctx.paths);
  const paths = new Map<string, string>();
  for (const [i, d] of req.disks.entries()) {
    const to = join(dir, diskVolumeName(req.name, i));
    const from = req.linked
      ? await steps.run('base', `making ${d.path!} a shared base`, () =>
          shareSourceDisk(ctx.client, pool, req, d.path!, rollback),
        )
      : d.path!;
    await steps.run('disk', `making the disk ${to}`, () =>
      makeDisk(ctx.client, pool, from, to, !!req.linked, req.name, rollback),
    );
    paths.set(d.path!, to);
  }
  return paths;
}

/** The source's disk becomes a shared base, the source moves onto an overlay of it; refused if it was started. */
async function shareSourceDisk(
  client: LibvirtClient,
  pool: StoragePool,
  req: CloneDisksRequest,
  disk: string,
  rollback: Rollback,
): Promise<string> {
  // A source started since the check would be writing the file that is about to become the shared base.
  if (await client.isActive(req.sourceDom)) {
    throw new RoostError('VM_RUNNING', `VM '${req.source}' was started while it was being cloned`, {
      hint: `stop it and clone again: roost clone --stop --linked ${req.source} ${req.name}`,
    });
  }
  return moveOntoBase(client, { pool, disk }, rollback);
}

/** A full copy (libvirt's volume clone) or a qcow2 overlay on `from`; the undo deletes it. */
async function makeDisk(
  client: LibvirtClient,
  pool: StoragePool,
  from: string,
  to: string,
  linked: boolean,
  name: string,
  rollback: Rollback,
): Promise<void> {
  const source = await client.lookupVolumeByPath(from);
  const [{ capacity }, srcXml] = await Promise.all([
    client.getVolumeInfo(source),
    client.getVolumeXml(source),
  ]);
  const volName = basename(to);
  const making = linked
    ? createDisk(client, pool, {
        name: volName,
        capacityBytes: Number(capacity),
        backing: { path: from, format: volumeFormat(srcXml) },
      })
    : client.createVolumeFrom(pool, volumeXml({ name: volName, capacityBytes: Number(capacity) }), source);
  const ours = making.then(
    () => true,
    (e: unknown) => e instanceof ConnectionClosedError,
  );
  rollback.add({
    what: `disk ${to}`,
    fix: `roost rm --force ${name}`,
    run: async () => ((await ours) ? deleteVolumeAt(client, to) : false),
  });
  await making.catch((e: unknown) => {
    if (e instanceof LibvirtError && e.virErrorCode === VirErrorCode.STORAGE_VOL_EXIST) {
      throw new UsageError('NAME_TAKEN', `a disk named ${volName} is already in roost's pool`, {
        hint: `pick another name; if no other roost command is making '${name}', remove it: roost rm ${name}`,
        cause: e,
      });
    }
    throw e;
  });
}
