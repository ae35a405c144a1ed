// What every verb of the image store shares: where the cache is, the environment, the size limit and the
// download tuning — and the catalogue as the store sees it (built-in entries, images.yaml, imports in the cache).
import type { RoostPaths } from '../paths.js';
import { imagesDir, listCached } from './cache.js';
import { BUILTIN_IMAGES, findEntry, mergeEntries } from './catalog.js';
import { loadImageConfig } from './config.js';
import { ImageNotFoundError } from './errors.js';
import { maxImageBytes } from './limits.js';
import { parseMirrorEnv, type MirrorRule } from './mirror.js';
import { checkImageName } from './names.js';
import type { ImageEntry } from './types.js';

/** Download tuning (tests make retries fast). */
export interface DownloadTuning {
  retries?: number;
  retryDelayMs?: number;
  idleTimeoutMs?: number;
  progressIntervalMs?: number;
  /** Extra trusted certificates (PEM) for https mirrors. */
  ca?: string | Buffer;
}

export interface StoreContext {
  paths: RoostPaths;
  env: NodeJS.ProcessEnv;
  /** The cache directory, ~/.cache/roost/images. */
  dir: string;
  /** Bounds a download and what it decompresses to (limits.ts). */
  maxBytes: number;
  download?: DownloadTuning;
}

export function storeContext(
  paths: RoostPaths,
  env: NodeJS.ProcessEnv,
  download?: DownloadTuning,
): StoreContext {
  // The limit is read once, so a bad value fails every verb alike.
  return { paths, env, dir: imagesDir(paths), maxBytes: maxImageBytes(env), download };
}

/** ROOST_IMAGE_MIRROR's rules first, then images.yaml's. */
export async function mirrorsOf(ctx: StoreContext): Promise<MirrorRule[]> {
  const cfg = await loadImageConfig(ctx.paths.config);
  return [...parseMirrorEnv(ctx.env.ROOST_IMAGE_MIRROR), ...cfg.mirrors];
}

/** Built-in entries, then images.yaml's, then imports; later ones replace earlier ones of the same name. */
export async function catalogueOf(ctx: StoreContext): Promise<ImageEntry[]> {
  const cfg = await loadImageConfig(ctx.paths.config);
  const imported = (await listCached(ctx.dir)).flatMap((c) => (c.entry ? [c.entry] : []));
  return mergeEntries(BUILTIN_IMAGES, cfg.images, imported);
}

/** The entry named (or aliased) `ref`; ImageNotFoundError lists the known names. */
export async function entryFor(ctx: StoreContext, ref: string): Promise<ImageEntry> {
  checkImageName(ref);
  const all = await catalogueOf(ctx);
  const entry = findEntry(all, ref);
  if (!entry)
    throw new ImageNotFoundError(
      ref,
      all.map((e) => e.name),
    );
  return entry;
}
