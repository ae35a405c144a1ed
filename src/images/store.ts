// The image store: the catalogue (built in + images.yaml + imports) joined with the cache, and the verbs on it —
// list, pull, resolve (pull if needed), import, remove. `createImageStore` returns one per cache directory;
// pulls of the same image through one store share a single download (one promise, events fanned out to every
// caller), and pulls from different processes queue on NAME.lock and then find the image cached.
import { constants } from 'node:fs';
import { chmod, copyFile, readdir, rm, stat } from 'node:fs/promises';
import { basename, join, resolve as resolvePath } from 'node:path';
import { UsageError } from '../errors.js';
import { ensurePrivateDir, roostPaths, type RoostPaths } from '../paths.js';
import {
  cachePath,
  commitImage,
  imagesDir,
  listCached,
  readCached,
  removeCached,
  type CachedImage,
} from './cache.js';
import { BUILTIN_IMAGES, compressionOf, findEntry, mergeEntries } from './catalog.js';
import { findChecksum, hashFile } from './checksum.js';
import { loadImageConfig } from './config.js';
import { decompressFile } from './decompress.js';
import { discardPart, downloadResumable } from './download.js';
import {
  ChecksumNotFoundError,
  ImageNotFoundError,
  ImageRefusedError,
  ImageTooLargeError,
} from './errors.js';
import { getText } from './http.js';
import { maxImageBytes } from './limits.js';
import { acquireLock } from './lock.js';
import { applyMirrors, parseMirrorEnv, type MirrorRule } from './mirror.js';
import { checkImageName, isImageName } from './names.js';
import { assertRegularFile, assertUsableImage, probeImage } from './probe.js';
import type { Compression, Firmware, ImageEntry, PullEvent, PullProgress, ResolvedImage } from './types.js';
import type { ImageListing, RemovedImage } from '../shared/host.js';

export interface ImageStoreOptions {
  paths?: RoostPaths;
  /** Environment for ROOST_IMAGE_MIRROR (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Download tuning (tests make retries fast). */
  download?: {
    retries?: number;
    retryDelayMs?: number;
    idleTimeoutMs?: number;
    progressIntervalMs?: number;
    /** Extra trusted certificates (PEM) for https mirrors. */
    ca?: string | Buffer;
  };
}

export type { ImageListing } from '../shared/host.js';

export interface PullOptions {
  onProgress?: PullProgress;
  signal?: AbortSignal;
}

export interface ImportOptions {
  as: string;
  os?: string;
  user?: string;
  firmware?: Firmware;
  /** Replace an image of that name already in the cache. */
  force?: boolean;
}

export interface ImageStore {
  readonly dir: string;
  /** Built-in entries, then images.yaml's, then imports; later ones replace earlier ones of the same name. */
  entries(): Promise<ImageEntry[]>;
  list(): Promise<ImageListing[]>;
  /** The cached image for `ref` (a name or alias), downloading and verifying it first if needed. */
  pull(ref: string, opts?: PullOptions): Promise<CachedImage & { downloaded: boolean }>;
  /** A name, alias or path to what a VM can boot: the cached (pulled if needed) image, or the file itself. */
  resolve(ref: string, opts?: PullOptions): Promise<ResolvedImage>;
  import(file: string, opts: ImportOptions): Promise<CachedImage>;
  /** Removes a cached image; refuses while overlays in roost's pool use it, unless `force`. */
  remove(ref: string, opts?: { force?: boolean }): Promise<RemovedImage>;
}

export function createImageStore(opts: ImageStoreOptions = {}): ImageStore {
  const paths = opts.paths ?? roostPaths();
  const env = opts.env ?? process.env;
  const dir = imagesDir(paths);
  // Bounds a download and what it decompresses to (limits.ts); read once, so a bad value fails every verb alike.
  const maxBytes = maxImageBytes(env);
  const inflight = new Map<
    string,
    { listeners: Set<PullProgress>; promise: Promise<{ img: CachedImage; downloaded: boolean }> }
  >();

  async function config() {
    const cfg = await loadImageConfig(paths.config);
    const mirrors: MirrorRule[] = [...parseMirrorEnv(env.ROOST_IMAGE_MIRROR), ...cfg.mirrors];
    return { cfg, mirrors };
  }

  async function entries(): Promise<ImageEntry[]> {
    const { cfg } = await config();
    const imported = (await listCached(dir)).flatMap((c) => (c.entry ? [c.entry] : []));
    return mergeEntries(BUILTIN_IMAGES, cfg.images, imported);
  }

  async function entryFor(ref: string): Promise<{ entry: ImageEntry; all: ImageEntry[] }> {
    checkImageName(ref);
    const all = await entries();
    const entry = findEntry(all, ref);
    if (!entry)
      throw new ImageNotFoundError(
        ref,
        all.map((e) => e.name),
      );
    return { entry, all };
  }

  async function download(
    entry: ImageEntry,
    mirrors: MirrorRule[],
    emit: PullProgress,
    signal?: AbortSignal,
  ) {
    const lock = await acquireLock(cachePath(dir, entry.name, 'lock'), {
      signal,
      onWait: (pid) => emit({ type: 'waiting', image: entry.name, pid }),
    });
    try {
      // Another process may have finished it while we waited.
      const done = await readCached(dir, entry.name);
      if (done) return { img: done, downloaded: false };
      const url = applyMirrors(entry.url!, mirrors);
      const fileName = basename(new URL(entry.url!).pathname);
      let expected: { algorithm: 'sha256' | 'sha512'; hex: string };
      const sum = entry.checksum!;
      if ('value' in sum) expected = { algorithm: sum.algorithm, hex: sum.value };
      else {
        const sumsUrl = applyMirrors(sum.url, mirrors);
        const text = await getText(sumsUrl, { signal });
        // The entry's algorithm first; a file that only has the other one still counts.
        const found = findChecksum(text, fileName, sum.algorithm) ?? findChecksum(text, fileName);
        if (!found) throw new ChecksumNotFoundError(fileName, sumsUrl);
        expected = found;
      }
      const part = cachePath(dir, entry.name, 'part');
      const result = await downloadResumable({
        url,
        part,
        image: entry.name,
        expected,
        onProgress: emit,
        signal,
        maxBytes,
        ...opts.download,
      });
      emit({ type: 'verify', image: entry.name, algorithm: expected.algorithm });
      let file = part;
      const compression = compressionOf(entry);
      if (compression !== 'none') {
        emit({ type: 'decompress', image: entry.name, compression });
        file = cachePath(dir, entry.name, 'tmp');
        try {
          await decompressFile(part, file, compression, { maxBytes });
        } catch (e) {
          await rm(file, { force: true });
          // A bomb is dropped whole; a missing xz/zstd keeps the verified download for the next try.
          if (e instanceof ImageTooLargeError) await discardPart(part);
          throw e;
        }
      }
      try {
        // Checked before the cache has it: a mirror's file is no more trusted than a user's.
        const facts = await assertUsableImage(file);
        const img = await commitImage(dir, file, {
          name: entry.name,
          format: facts.format,
          virtualSize: facts.virtualSize,
          size: (await stat(file)).size,
          source: 'download',
          url,
          digest: { algorithm: expected.algorithm, hex: result.digest },
        });
        return { img, downloaded: true };
      } finally {
        if (file !== part) await rm(file, { force: true });
        await discardPart(part);
      }
    } finally {
      await lock.release();
    }
  }

  async function pull(ref: string, o: PullOptions = {}) {
    const { entry } = await entryFor(ref);
    const cached = await readCached(dir, entry.name);
    if (cached) return { ...cached, downloaded: false };
    if (!entry.url || !entry.checksum) {
      const where = entry.downloadPage ? `: get it from ${entry.downloadPage}` : '';
      throw new UsageError(
        'IMAGE_IMPORT_ONLY',
        `image '${entry.name}' cannot be downloaded by roost${where}`,
        {
          hint: `then: roost image import FILE --as ${entry.name}`,
        },
      );
    }
    let job = inflight.get(entry.name);
    if (!job) {
      const listeners = new Set<PullProgress>();
      const emit = (ev: PullEvent) => listeners.forEach((l) => l(ev));
      // Registered before any await, so every concurrent caller finds it.
      const promise = (async () => {
        ensurePrivateDir(dir);
        const { mirrors } = await config();
        return download(entry, mirrors, emit, o.signal);
      })().finally(() => inflight.delete(entry.name));
      job = { listeners, promise };
      inflight.set(entry.name, job);
    }
    if (o.onProgress) job.listeners.add(o.onProgress);
    try {
      const { img, downloaded } = await job.promise;
      o.onProgress?.({ type: 'done', image: entry.name, path: img.path, size: img.size, downloaded });
      return { ...img, downloaded };
    } finally {
      if (o.onProgress) job.listeners.delete(o.onProgress);
    }
  }

  async function resolve(ref: string, o: PullOptions = {}): Promise<ResolvedImage> {
    const isPath = ref.includes('/') || !isImageName(ref);
    if (!isPath) {
      const entry = findEntry(await entries(), ref);
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
      if (!(await stat(ref).catch(() => undefined))) await entryFor(ref); // throws: not a name, not a file
    }
    const path = resolvePath(ref);
    const facts = await assertUsableImage(path);
    return { path, format: facts.format, virtualSize: facts.virtualSize, downloaded: false };
  }

  async function importImage(file: string, o: ImportOptions): Promise<CachedImage> {
    checkImageName(o.as);
    const src = resolvePath(file);
    const compression = compressionOfFile(src);
    // An uncompressed file is checked before it is copied (a FIFO or a non-image is refused at once);
    // a compressed one once decompressed, below.
    if (compression === 'none') await assertUsableImage(src, { copiedFirst: true });
    else assertRegularFile(src, 'image');
    if (!o.force && (await readCached(dir, o.as))) {
      throw new UsageError('IMAGE_EXISTS', `an image named '${o.as}' is already in the cache`, {
        hint: `use another name, or replace it: roost image import ${file} --as ${o.as} --force`,
      });
    }
    ensurePrivateDir(dir);
    const base = findEntry(await entries(), o.as);
    const tmp = cachePath(dir, o.as, 'import-tmp');
    try {
      if (compression === 'none') await copyFile(src, tmp, constants.COPYFILE_FICLONE);
      else await decompressFile(src, tmp, compression, { maxBytes });
      await chmod(tmp, 0o600);
      const facts = await assertUsableImage(tmp).catch((e: unknown) => {
        throw e instanceof ImageRefusedError ? namingSource(e, tmp, file) : e;
      });
      const entry: ImageEntry = {
        name: o.as,
        os: o.os ?? base?.os.replace(/ \(import only\)$/, '') ?? o.as,
        format: facts.format,
        firmware: o.firmware ?? base?.firmware ?? 'uefi',
        user: o.user ?? base?.user ?? 'cloud-user',
        minDiskGiB: base?.minDiskGiB ?? Math.max(1, Math.ceil(facts.virtualSize / 2 ** 30)),
        minMemoryMiB: base?.minMemoryMiB ?? 1024,
        arch: 'x86_64',
        origin: 'import',
      };
      if (base?.shell) entry.shell = base.shell;
      const digest = { algorithm: 'sha256' as const, hex: await hashFile(tmp, 'sha256') };
      if (o.force) await removeCached(dir, o.as);
      return await commitImage(dir, tmp, {
        name: o.as,
        format: facts.format,
        virtualSize: facts.virtualSize,
        size: (await stat(tmp)).size,
        source: 'import',
        digest,
        entry,
      });
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async function remove(ref: string, o: { force?: boolean } = {}) {
    checkImageName(ref);
    const all = await entries();
    const name = findEntry(all, ref)?.name ?? ref;
    const cached = await readCached(dir, name);
    if (!cached && !(await stat(cachePath(dir, name, 'part')).catch(() => undefined))) {
      throw new ImageNotFoundError(
        ref,
        (await listCached(dir)).map((c) => c.name),
      );
    }
    if (cached && !o.force) {
      const users = await overlaysOf(paths.pool, cached.path);
      if (users.length) {
        throw new UsageError(
          'IMAGE_IN_USE',
          `'${name}' is the base of ${users.length} disk(s): ${users.join(', ')}`,
          {
            hint: `remove those VMs first (roost rm NAME), or remove anyway with --force (their disks break)`,
          },
        );
      }
    }
    return { name, removed: await removeCached(dir, name) };
  }

  async function list(): Promise<ImageListing[]> {
    const [all, cached] = await Promise.all([entries(), listCached(dir)]);
    const byName = new Map(cached.map((c) => [c.name, c]));
    const rows: ImageListing[] = all.map((e) => {
      const c = byName.get(e.name);
      byName.delete(e.name);
      return {
        name: e.name,
        aliases: e.aliases ?? [],
        os: e.os,
        user: e.user,
        firmware: e.firmware,
        origin: e.origin,
        importOnly: !e.url,
        cached: !!c,
        path: c?.path,
        size: c?.size,
        virtualSize: c?.virtualSize,
        url: e.url,
        minDiskGiB: e.minDiskGiB,
        minMemoryMiB: e.minMemoryMiB,
        checksum: e.checksum
          ? 'url' in e.checksum
            ? `${e.checksum.algorithm} from ${e.checksum.url}`
            : `${e.checksum.algorithm} (digest in the entry)`
          : undefined,
        notes: e.notes,
      };
    });
    // Cached images whose entry is gone (an edited images.yaml) still show, so they can be removed.
    for (const c of byName.values()) {
      rows.push({
        name: c.name,
        aliases: [],
        os: '(no longer in the catalogue)',
        user: '-',
        firmware: 'uefi',
        origin: 'config',
        importOnly: false,
        cached: true,
        path: c.path,
        size: c.size,
        virtualSize: c.virtualSize,
        url: c.url,
      });
    }
    return rows;
  }

  return { dir, entries, list, pull, resolve, import: importImage, remove };
}

/** qcow2 files in roost's pool whose backing file is `image`. */
async function overlaysOf(pool: string, image: string): Promise<string[]> {
  const files = (await readdir(pool).catch(() => [] as string[])).filter((f) => f.endsWith('.qcow2'));
  const users: string[] = [];
  for (const f of files) {
    const facts = await probeImage(join(pool, f)).catch(() => undefined);
    if (facts?.backingFile && resolvePath(pool, facts.backingFile) === image) users.push(f);
  }
  return users;
}

function compressionOfFile(path: string): Compression {
  if (path.endsWith('.xz')) return 'xz';
  if (path.endsWith('.zst')) return 'zst';
  if (path.endsWith('.gz')) return 'gz';
  return 'none';
}

/** The refusal of a decompressed import, naming the file the user gave rather than the cache's temporary one. */
function namingSource(e: ImageRefusedError, tmp: string, file: string): ImageRefusedError {
  return new ImageRefusedError(e.code, e.message.split(tmp).join(file), {
    hint: e.hint?.split(tmp).join(file),
  });
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
