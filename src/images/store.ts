// The image store: the catalogue (built in + images.yaml + imports) joined with the cache, and the verbs on it —
// list (listing.ts), pull (pull.ts), resolve (pull if needed), import (import.ts), remove (remove.ts).
// `createImageStore` returns one per cache directory; pulls of the same image through one store share a single
// download, and pulls from different processes queue on NAME.lock and then find the image cached.
import { stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { roostPaths, type RoostPaths } from '../paths.js';
import type { CachedImage } from './cache.js';
import { findEntry } from './catalog.js';
import { catalogueOf, entryFor, storeContext, type DownloadTuning, type StoreContext } from './context.js';
import { importImage, type ImportOptions } from './import.js';
import { listImages, type ImageListing } from './listing.js';
import { isImageName } from './names.js';
import { assertUsableImage } from './probe.js';
import { createPull, type PulledImage, type PullOptions } from './pull.js';
import { removeImage } from './remove.js';
import type { ImageEntry, PullProgress, ResolvedImage } from './types.js';
import type { RemovedImage } from '../shared/host.js';

export type { ImageListing, ImportOptions, PullOptions };

export interface ImageStoreOptions {
  paths?: RoostPaths;
  /** Environment for ROOST_IMAGE_MIRROR (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Download tuning (tests make retries fast). */
  download?: DownloadTuning;
}

export interface ImageStore {
  readonly dir: string;
  /** Built-in entries, then images.yaml's, then imports; later ones replace earlier ones of the same name. */
  entries(): Promise<ImageEntry[]>;
  list(): Promise<ImageListing[]>;
  /** The cached image for `ref` (a name or alias), downloading and verifying it first if needed. */
  pull(ref: string, opts?: PullOptions): Promise<PulledImage>;
  /** A name, alias or path to what a VM can boot: the cached (pulled if needed) image, or the file itself. */
  resolve(ref: string, opts?: PullOptions): Promise<ResolvedImage>;
  import(file: string, opts: ImportOptions): Promise<CachedImage>;
  /** Removes a cached image; refuses while overlays in roost's pool use it, unless `force`. */
  remove(ref: string, opts?: { force?: boolean }): Promise<RemovedImage>;
}

export function createImageStore(opts: ImageStoreOptions = {}): ImageStore {
  const ctx = storeContext(opts.paths ?? roostPaths(), opts.env ?? process.env, opts.download);
  const pull = createPull(ctx);
  return {
    dir: ctx.dir,
    entries: () => catalogueOf(ctx),
    list: () => listImages(ctx),
    pull,
    resolve: (ref, o) => resolveRef(ctx, pull, ref, o),
    import: (file, o) => importImage(ctx, file, o),
    remove: (ref, o) => removeImage(ctx, ref, o),
  };
}

/** A catalogue name or alias (pulled if needed), else a path to an image file (probed). */
async function resolveRef(
  ctx: StoreContext,
  pull: (ref: string, o?: PullOptions) => Promise<PulledImage>,
  ref: string,
  o: PullOptions = {},
): Promise<ResolvedImage> {
  const isPath = ref.includes('/') || !isImageName(ref);
  if (!isPath) {
    const entry = findEntry(await catalogueOf(ctx), ref);
    if (entry) {
      const img = await pull(ref, o);
      return {
        path: img.path,
        format: img.format,
        virtualSize: img.virtualSize,
        entry,
        downloaded: img.downloaded,
      };
    }
    if (!(await stat(ref).catch(() => undefined))) await entryFor(ctx, ref); // throws: not a name, not a file
  }
  const path = resolvePath(ref);
  const facts = await assertUsableImage(path);
  return { path, format: facts.format, virtualSize: facts.virtualSize, downloaded: false };
}

const stores = new Map<string, ImageStore>();

/** The process-wide store for these paths (so concurrent callers share downloads). */
export function imageStore(paths: RoostPaths = roostPaths()): ImageStore {
  let s = stores.get(paths.cache);
  if (!s) stores.set(paths.cache, (s = createImageStore({ paths })));
  return s;
}

/**
 * For `roost create --image REF`: a catalogue name or alias (pulled and verified if not cached yet) or a path
 * to a qcow2/raw file. Progress events go to `onProgress` (term/progress.ts renders them).
 */
export function resolveImage(
  ref: string,
  opts: { paths?: RoostPaths; onProgress?: PullProgress; signal?: AbortSignal } = {},
): Promise<ResolvedImage> {
  return imageStore(opts.paths).resolve(ref, { onProgress: opts.onProgress, signal: opts.signal });
}
