// Linked clones share a read-only base, never a disk a VM writes.
//
// A qcow2 overlay reads through to its backing file, so the backing file must never change under it. When
// `roost clone --linked SRC DST` runs, SRC's disk file becomes a shared base (renamed VOL.base-XXXXXXXX.qcow2 in
// roost's pool, mode 0400) and SRC gets a new, empty overlay of it under its old name — its definition does not
// change — and DST gets another. From then on each VM writes only its own overlay, and the base is read by both.
//
// A base belongs to the VMs whose disks (or whose bases) build on it: `roost rm` of one of them deletes its own
// overlay and then each base nothing builds on any more (releaseLinkedBases), so the last one out removes it.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, renameSync, unlinkSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { RoostError } from '../errors.js';
import type { LibvirtClient } from '../libvirt/api.js';
import { isNotFound } from '../libvirt/errors.js';
import type { StoragePool } from '../libvirt/types.js';
import type { Rollback } from './rollback.js';
import { createDisk, deleteVolumeAt, POOL_NAME } from './storage.js';

/** A shared base's volume name: VOL.base-XXXXXXXX.EXT. */
const LINKED_BASE = /\.base-[0-9a-f]{8}(\.[A-Za-z0-9]+)?$/;

export function isLinkedBase(path: string): boolean {
  return LINKED_BASE.test(basename(path));
}

/** web.qcow2 → web.base-1a2b3c4d.qcow2 (a new name each time: a disk may become a base more than once). */
export function linkedBaseName(volume: string, tag = randomBytes(4).toString('hex')): string {
  const ext = extname(volume);
  return `${ext ? volume.slice(0, -ext.length) : volume}.base-${tag}${ext}`;
}

/** The backing file libvirt reads from a volume's XML, or undefined for a volume without one. */
export function backingPathOf(volumeXml: string): string | undefined {
  const path = /<backingStore>\s*<path>([^<]+)<\/path>/.exec(volumeXml)?.[1];
  return path === undefined ? undefined : unescapeXml(path);
}

function unescapeXml(s: string): string {
  return s.replace(/&(#(\d+)|lt|gt|amp|quot|apos);/g, (_, e: string, n?: string) =>
    n ? String.fromCharCode(Number(n)) : { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[e]!,
  );
}

export interface MoveOntoBase {
  pool: StoragePool;
  /** The source VM's disk (a volume of roost's pool). */
  disk: string;
}

/**
 * Makes the source VM's disk a shared base and puts the VM on a new overlay of it, under the disk's old path;
 * returns the base's path. Each half registers its undo (the overlay deleted, the base renamed back).
 */
export async function moveOntoBase(
  client: LibvirtClient,
  m: MoveOntoBase,
  rollback: Rollback,
): Promise<string> {
  const vol = await client.lookupVolumeByPath(m.disk);
  const [{ capacity }, xml] = await Promise.all([client.getVolumeInfo(vol), client.getVolumeXml(vol)]);
  const base = join(dirname(m.disk), linkedBaseName(basename(m.disk)));
  // link + unlink: a rename that never replaces a file already there.
  linkSync(m.disk, base);
  unlinkSync(m.disk);
  rollback.add({
    what: `the move of ${basename(m.disk)} to ${basename(base)}`,
    fix: `mv ${base} ${m.disk}; chmod 600 ${m.disk}; virsh pool-refresh ${POOL_NAME}`,
    run: () => restoreDisk(client, m, base),
  });
  chmodSync(base, 0o400);
  // libvirt learns of the rename, so that the disk's name is free for the overlay.
  await client.refreshStoragePool(m.pool);
  rollback.add({
    what: `overlay ${m.disk}`,
    fix: `virsh vol-delete ${m.disk}`,
    run: () => deleteOverlayOf(client, m.disk, base),
  });
  await createDisk(client, m.pool, {
    name: basename(m.disk),
    capacityBytes: Number(capacity),
    backing: { path: base, format: volumeFormat(xml) },
  });
  return base;
}

/** A volume's own format (not its backing file's), from its XML. */
export function volumeFormat(volumeXml: string): 'qcow2' | 'raw' {
  return /<format type='raw'\/>/.test(volumeXml.split('<backingStore>')[0]!) ? 'raw' : 'qcow2';
}

/** Deletes the volume at `path` only if it is an overlay of `base` (the one moveOntoBase made). */
async function deleteOverlayOf(client: LibvirtClient, path: string, base: string): Promise<boolean> {
  const vol = await client.lookupVolumeByPath(path).catch((e: unknown) => {
    if (isNotFound(e)) return undefined;
    throw e;
  });
  if (!vol || backingPathOf(await client.getVolumeXml(vol)) !== base) return false;
  return deleteVolumeAt(client, path);
}

async function restoreDisk(client: LibvirtClient, m: MoveOntoBase, base: string): Promise<void> {
  if (existsSync(m.disk)) {
    throw new RoostError(
      'DISK_RESTORE_FAILED',
      `${m.disk} is there again: ${basename(base)} was not renamed back`,
    );
  }
  chmodSync(base, 0o600);
  renameSync(base, m.disk);
  await client.refreshStoragePool(m.pool);
}

/**
 * After `roost rm` deleted a VM's files: each of `backings` (the backing files of what it deleted) that is a
 * shared base no volume of roost's pool builds on any more is deleted, and then its own base the same way.
 * Returns the paths deleted.
 */
export async function releaseLinkedBases(
  client: LibvirtClient,
  backings: readonly string[],
): Promise<string[]> {
  let todo = [...new Set(backings.filter(isLinkedBase))];
  const deleted: string[] = [];
  while (todo.length > 0) {
    const chain = await backingsInPool(client);
    if (!chain) break;
    const used = new Set(chain.values());
    const next: string[] = [];
    for (const base of todo.filter((b) => !used.has(b))) {
      if (!(await deleteVolumeAt(client, base))) continue;
      deleted.push(base);
      const below = chain.get(base);
      if (below && isLinkedBase(below)) next.push(below);
    }
    todo = next;
  }
  return deleted;
}

/** Every volume of roost's pool, by path, with its backing file (undefined when it has none). */
async function backingsInPool(client: LibvirtClient): Promise<Map<string, string | undefined> | undefined> {
  const pool = await client.lookupStoragePool(POOL_NAME).catch((e: unknown) => {
    if (isNotFound(e)) return undefined;
    throw e;
  });
  if (!pool) return undefined;
  const vols = await client.listVolumes(pool);
  // Pipelined: one round trip's wait for all of them.
  const facts = await Promise.all(
    vols.map((v) => Promise.all([client.getVolumePath(v), client.getVolumeXml(v).catch(() => '')])),
  );
  return new Map(facts.map(([path, xml]) => [path, backingPathOf(xml)]));
}

/** The backing files of the volumes at `paths` (those that have one), read before they are deleted. */
export async function backingsOf(client: LibvirtClient, paths: readonly string[]): Promise<string[]> {
  const found = await Promise.all(
    paths.map((p) =>
      client
        .lookupVolumeByPath(p)
        .then((v) => client.getVolumeXml(v))
        .then(backingPathOf, (e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e))),
    ),
  );
  return found.filter((b): b is string => b !== undefined);
}
