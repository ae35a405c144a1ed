// roost's disks live in one libvirt storage pool of the user's ("roost", a directory pool under
// ~/.local/share/roost/pool), so that virsh and virt-manager see them too and libvirt manages their files.
// A VM's disk is a qcow2 overlay whose backing store is the base image: creating one is O(1) in the base
// image's size, and the base image is never written to.
import { firstChild, parseXml, textContent } from '../domain-xml/xml.js';
import { ensurePrivateDir, type RoostPaths } from '../paths.js';
import { isNotFound } from '../libvirt/errors.js';
import type { LibvirtClient } from '../libvirt/api.js';
import type { ParsedDomain } from '../domain-xml/parse.js';
import type { StoragePool, StorageVol } from '../libvirt/types.js';

export const POOL_NAME = 'roost';

function esc(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function poolXml(dir: string): string {
  return `<pool type='dir'>
  <name>${POOL_NAME}</name>
  <target>
    <path>${esc(dir)}</path>
    <permissions><mode>0700</mode></permissions>
  </target>
</pool>
`;
}

/** roost's pool, or undefined when it was never made (any other failure is thrown). */
async function findPool(client: LibvirtClient): Promise<StoragePool | undefined> {
  return client.lookupStoragePool(POOL_NAME).catch((e: unknown) => {
    if (isNotFound(e)) return undefined;
    throw e;
  });
}

/** roost's pool and the directory its volumes' files go in, defining, building and starting it on first use. */
export async function ensurePool(
  client: LibvirtClient,
  paths: Pick<RoostPaths, 'pool'>,
  // On another host the directory is not ours to make here: libvirt's pool build makes it there.
  opts: { makeDir?: boolean } = {},
): Promise<{ pool: StoragePool; dir: string }> {
  let pool = await findPool(client);
  if (!pool) {
    if (opts.makeDir ?? true) ensurePrivateDir(paths.pool);
    pool = await client.defineStoragePool(poolXml(paths.pool));
    await client.buildStoragePool(pool);
    await client.setStoragePoolAutostart(pool, true);
  }
  const [active, xml] = await Promise.all([client.isStoragePoolActive(pool), client.getStoragePoolXml(pool)]);
  if (!active) await client.startStoragePool(pool);
  return { pool, dir: poolDir(xml) };
}

/**
 * A directory pool's <target><path>: libvirt names each volume's file <path>/<volume name>, so a disk's path is
 * known before the volume exists (create.ts defines the VM while libvirt makes its disk).
 */
export function poolDir(poolXml: string): string {
  const dir = textContent(firstChild(firstChild(parseXml(poolXml).root, 'target'), 'path'))?.trim();
  if (!dir) throw new Error(`storage pool '${POOL_NAME}' has no target path`);
  return dir;
}

export interface OverlayRequest {
  /** Volume name, e.g. `web.qcow2`. */
  name: string;
  capacityBytes: number;
  /** The base image; absent for an empty disk. */
  backing?: { path: string; format: 'qcow2' | 'raw' };
}

export function volumeXml(r: OverlayRequest): string {
  const backing = r.backing
    ? `
  <backingStore>
    <path>${esc(r.backing.path)}</path>
    <format type='${r.backing.format}'/>
  </backingStore>`
    : '';
  return `<volume>
  <name>${esc(r.name)}</name>
  <capacity unit='bytes'>${r.capacityBytes}</capacity>
  <allocation unit='bytes'>0</allocation>
  <target>
    <format type='qcow2'/>
    <permissions><mode>0600</mode></permissions>
  </target>${backing}
</volume>
`;
}

export async function createDisk(
  client: LibvirtClient,
  pool: StoragePool,
  r: OverlayRequest,
): Promise<{ vol: StorageVol; path: string }> {
  const vol = await client.createVolume(pool, volumeXml(r));
  return { vol, path: await client.getVolumePath(vol) };
}

/** Deletes a volume by path if it is one of libvirt's; quietly does nothing when it is already gone. */
export async function deleteVolumeAt(client: LibvirtClient, path: string): Promise<boolean> {
  try {
    const vol = await client.lookupVolumeByPath(path);
    await client.deleteVolume(vol);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** Which of `paths` are volumes of roost's pool. libvirt knows which pool a path is in, wherever its directory is. */
async function inRoostPool(client: LibvirtClient, paths: readonly string[]): Promise<string[]> {
  const pools = await Promise.all(
    paths.map((p) =>
      client.lookupVolumeByPath(p).then(
        (v) => v.pool,
        (e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)),
      ),
    ),
  );
  return paths.filter((_, i) => pools[i] === POOL_NAME);
}

/** The VM's writable disks that are volumes of roost's pool, by path: what `roost rm` deletes. */
export function ownDisks(client: LibvirtClient, parsed: ParsedDomain): Promise<string[]> {
  const candidates = parsed.disks.filter((d) => d.device === 'disk' && !d.readonly && d.path !== undefined);
  return inRoostPool(
    client,
    candidates.map((d) => d.path!),
  );
}

/**
 * Which of `paths` are volumes of roost's pool, after a refresh: files libvirt made for snapshots are volumes
 * only once the pool has looked. Anything else — a base image, a file of another pool — is not roost's to delete.
 */
export async function poolVolumesAmong(client: LibvirtClient, paths: readonly string[]): Promise<string[]> {
  if (paths.length === 0) return [];
  const pool = await findPool(client);
  if (!pool) return [];
  await client.refreshStoragePool(pool);
  return inRoostPool(client, paths);
}

/**
 * The VMs whose disk is a linked clone (a qcow2 overlay) of one of `paths`: what `roost rm` of the source must
 * not pull from under them. Read from the volumes of roost's pool, where every clone's disk is.
 */
export async function linkedClonesOf(client: LibvirtClient, paths: readonly string[]): Promise<string[]> {
  if (paths.length === 0) return [];
  const pool = await findPool(client);
  if (!pool) return [];
  const vols = await client.listVolumes(pool);
  // Pipelined: one round trip's wait for all of them, not one per volume.
  const xmls = await Promise.all(vols.map((vol) => client.getVolumeXml(vol).catch(() => '')));
  return vols
    .filter((_, i) => {
      const backing = /<backingStore>\s*<path>([^<]+)<\/path>/.exec(xmls[i]!)?.[1];
      return backing !== undefined && paths.includes(unescapeXml(backing));
    })
    .map((vol) => vol.name);
}

function unescapeXml(s: string): string {
  return s.replace(/&(#(\d+)|lt|gt|amp|quot|apos);/g, (_, e: string, n?: string) =>
    n ? String.fromCharCode(Number(n)) : { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[e]!,
  );
}
