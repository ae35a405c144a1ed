// The image cache, ~/.cache/roost/images (0700):
//   NAME.qcow2 | NAME.raw   the image, verified; a VM's overlay points at it, so it is never rewritten in place
//   NAME.json               what it is (entry, digest, source): written last, by rename — it is the commit
//                           marker: an image file without it is the leftover of a crash and is never used
//   NAME.part, NAME.part.json   a download in progress or interrupted (download.ts), resumed by the next pull
//   NAME.lock               held by the process pulling NAME (lock.ts)
//   NAME.tmp, NAME.import-tmp, NAME.json.tmp   a decompression, an import's copy, metadata being written: removed
//                           when the pull or import ends, however it ends (short of SIGKILL)
// NAME is always a valid image name (names.ts), checked here again by every function that makes a path of it,
// and metadata read back is trusted only if it names its own files.
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RoostPaths } from '../paths.js';
import { namingWrittenFile } from './fs-errors.js';
import { checkImageName, isImageName, pathInside } from './names.js';
import type { HashAlgorithm, ImageEntry, ImageFormat } from './types.js';

export interface CachedImage {
  name: string;
  /** Absolute path of the image file. */
  path: string;
  format: ImageFormat;
  virtualSize: number;
  /** Bytes on disk. */
  size: number;
  source: 'download' | 'import';
  url?: string;
  /** The digest that was verified (downloads) or computed (imports). */
  digest: { algorithm: HashAlgorithm; hex: string };
  /** ISO 8601. */
  addedAt: string;
  /** For imports: the entry `roost image ls` shows and `create` uses. */
  entry?: ImageEntry;
}

type StoredMeta = Omit<CachedImage, 'path'> & { file: string };

export const imagesDir = (paths: Pick<RoostPaths, 'cache'>) => join(paths.cache, 'images');

/** `dir/NAME.SUFFIX` for a valid image name, asserted to lie inside `dir`. */
export function cachePath(dir: string, name: string, suffix: string): string {
  return pathInside(dir, `${checkImageName(name)}.${suffix}`);
}

const metaPath = (dir: string, name: string) => cachePath(dir, name, 'json');

/** The cached image NAME, if committed and intact (file present, size as recorded). */
export async function readCached(dir: string, name: string): Promise<CachedImage | undefined> {
  const file = metaPath(dir, name);
  let meta: StoredMeta;
  try {
    meta = JSON.parse(await readFile(file, 'utf8')) as StoredMeta;
  } catch {
    return undefined;
  }
  // Metadata that names another image or another file is not ours to follow.
  if (meta.name !== name || (meta.file !== `${name}.qcow2` && meta.file !== `${name}.raw`)) return undefined;
  const path = cachePath(dir, name, meta.format === 'raw' ? 'raw' : 'qcow2');
  if (path !== join(dir, meta.file)) return undefined;
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile() || st.size !== meta.size) return undefined;
  const { file: _file, ...rest } = meta;
  return { ...rest, path };
}

export async function listCached(dir: string): Promise<CachedImage[]> {
  const names = (await readdir(dir).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.json') && !f.endsWith('.part.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .filter(isImageName);
  const all = await Promise.all(names.map((n) => readCached(dir, n)));
  return all.filter((c): c is CachedImage => c !== undefined).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Moves a verified file into the cache as NAME.FORMAT and writes its metadata: both by atomic rename. The
 * metadata is written (to a temporary name) first, so that a full disk fails before anything moved.
 */
export async function commitImage(
  dir: string,
  tmpFile: string,
  meta: Omit<CachedImage, 'path' | 'addedAt'>,
): Promise<CachedImage> {
  const path = cachePath(dir, meta.name, meta.format);
  const stored: StoredMeta = {
    ...meta,
    file: `${meta.name}.${meta.format}`,
    addedAt: new Date().toISOString(),
  };
  const tmpMeta = `${metaPath(dir, meta.name)}.tmp`;
  try {
    await writeFile(tmpMeta, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600 });
    await rm(metaPath(dir, meta.name), { force: true });
    await rename(tmpFile, path);
    await rename(tmpMeta, metaPath(dir, meta.name));
  } catch (e) {
    await rm(tmpMeta, { force: true });
    throw namingWrittenFile(e, tmpMeta);
  }
  const { file: _file, ...rest } = stored;
  return { ...rest, path };
}

/** Deletes NAME's image, metadata and any partial download; returns the files removed. */
export async function removeCached(dir: string, name: string): Promise<string[]> {
  const candidates = ['json', 'qcow2', 'raw', 'part', 'part.json'].map((ext) => cachePath(dir, name, ext));
  const removed: string[] = [];
  for (const f of candidates) {
    if (await stat(f).catch(() => undefined)) {
      await rm(f, { force: true });
      removed.push(f);
    }
  }
  return removed;
}
