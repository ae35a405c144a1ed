// `roost image pull`: a catalogue image into the cache, verified. Steps (images/steps.ts): lock (NAME.lock, so
// that another process's pull of it waits and then finds it cached), checksum (the published digest), download
// (into NAME.part, resumable), decompress (compressed images only, into NAME.tmp), check (the probe: a mirror's
// file is no more trusted than a user's), commit (rename into the cache; the metadata last). Pulls of one image
// through one store share one download: one promise, its progress events fanned out to every caller.
//
// An interruption keeps what a next pull can use — the partial download (resumed from where it stopped) or the
// whole verified one (checked again, not fetched again) — and nothing else: NAME.tmp is removed, the lock is
// released, and no image or metadata enters the cache.
import { rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import { ensurePrivateDir } from '../paths.js';
import { cachePath, commitImage, readCached, type CachedImage } from './cache.js';
import { compressionOf } from './catalog.js';
import { findChecksum } from './checksum.js';
import { entryFor, mirrorsOf, type StoreContext } from './context.js';
import { decompressFile } from './decompress.js';
import { discardPart, downloadResumable } from './download.js';
import { ChecksumNotFoundError, ImageRefusedError, ImageTooLargeError } from './errors.js';
import { getText } from './http.js';
import { acquireLock } from './lock.js';
import { applyMirrors, type MirrorRule } from './mirror.js';
import { assertUsableImage } from './probe.js';
import { ImageSteps, type Kept, type StepBoundary } from './steps.js';
import type { HashAlgorithm, ImageEntry, PullEvent, PullProgress } from './types.js';

export interface PullOptions {
  onProgress?: PullProgress;
  /** Aborted on an interruption: the pull stops at its next step, or cuts the download short. */
  signal?: AbortSignal;
  /** Awaited at each step boundary (the CLI's test hook). */
  boundary?: StepBoundary;
}

export type PulledImage = CachedImage & { downloaded: boolean };
type Pulled = { img: CachedImage; downloaded: boolean };
interface Job {
  listeners: Set<PullProgress>;
  promise: Promise<Pulled>;
}

/** The store's pull: one in-flight download per image name, shared by every caller. */
export function createPull(ctx: StoreContext): (ref: string, o?: PullOptions) => Promise<PulledImage> {
  const inflight = new Map<string, Job>();
  return async (ref, o = {}) => {
    const entry = await entryFor(ctx, ref);
    const cached = await readCached(ctx.dir, entry.name);
    if (cached) return { ...cached, downloaded: false };
    assertDownloadable(entry);
    // Found or registered with no await in between, so every concurrent caller finds it.
    let job = inflight.get(entry.name);
    if (!job) {
      job = startJob(ctx, entry, o);
      inflight.set(entry.name, job);
      const name = entry.name;
      void job.promise.catch(() => {}).finally(() => inflight.delete(name));
    }
    if (o.onProgress) job.listeners.add(o.onProgress);
    try {
      const { img, downloaded } = await job.promise;
      o.onProgress?.({ type: 'done', image: entry.name, path: img.path, size: img.size, downloaded });
      return { ...img, downloaded };
    } finally {
      if (o.onProgress) job.listeners.delete(o.onProgress);
    }
  };
}

function assertDownloadable(entry: ImageEntry): void {
  if (entry.url && entry.checksum) return;
  const where = entry.downloadPage ? `: get it from ${entry.downloadPage}` : '';
  throw new UsageError('IMAGE_IMPORT_ONLY', `image '${entry.name}' cannot be downloaded by roost${where}`, {
    hint: `then: roost image import FILE --as ${entry.name}`,
  });
}

function startJob(ctx: StoreContext, entry: ImageEntry, o: PullOptions): Job {
  const listeners = new Set<PullProgress>();
  const emit = (ev: PullEvent) => listeners.forEach((l) => l(ev));
  const steps = new ImageSteps(`roost image pull ${entry.name}`, o.signal, o.boundary);
  const part = cachePath(ctx.dir, entry.name, 'part');
  const promise = pullUnderLock(ctx, entry, emit, steps).catch(async (e: unknown) => {
    throw await steps.explain(e, () => keptDownload(part, entry.name, steps.reached));
  });
  return { listeners, promise };
}

async function pullUnderLock(
  ctx: StoreContext,
  entry: ImageEntry,
  emit: PullProgress,
  steps: ImageSteps,
): Promise<Pulled> {
  await steps.at('lock');
  ensurePrivateDir(ctx.dir);
  const mirrors = await mirrorsOf(ctx);
  const lock = await acquireLock(cachePath(ctx.dir, entry.name, 'lock'), {
    signal: steps.signal,
    onWait: (pid) => emit({ type: 'waiting', image: entry.name, pid }),
  });
  try {
    // Another process may have finished it while we waited.
    const done = await readCached(ctx.dir, entry.name);
    if (done) return { img: done, downloaded: false };
    const img = await downloadAndCommit(ctx, entry, mirrors, emit, steps);
    await steps.after('done');
    return { img, downloaded: true };
  } finally {
    await lock.release();
  }
}

async function downloadAndCommit(
  ctx: StoreContext,
  entry: ImageEntry,
  mirrors: MirrorRule[],
  emit: PullProgress,
  steps: ImageSteps,
): Promise<CachedImage> {
  await steps.at('checksum');
  const url = applyMirrors(entry.url!, mirrors);
  const expected = await expectedDigest(entry, mirrors, steps.signal);
  await steps.at('download');
  const part = cachePath(ctx.dir, entry.name, 'part');
  const result = await downloadResumable({
    url,
    part,
    image: entry.name,
    expected,
    onProgress: emit,
    signal: steps.signal,
    maxBytes: ctx.maxBytes,
    ...ctx.download,
  });
  emit({ type: 'verify', image: entry.name, algorithm: expected.algorithm });
  const file = await decompressed(ctx, entry, part, emit, steps);
  try {
    await steps.at('check');
    const facts = await assertUsableImage(file).catch(async (e: unknown) => {
      // Refused: never usable, so not kept for another try.
      if (e instanceof ImageRefusedError) await discardPart(part);
      throw e;
    });
    await steps.at('commit');
    const img = await commitImage(ctx.dir, file, {
      name: entry.name,
      format: facts.format,
      virtualSize: facts.virtualSize,
      size: (await stat(file)).size,
      source: 'download',
      url,
      digest: { algorithm: expected.algorithm, hex: result.digest },
    });
    await discardPart(part);
    return img;
  } finally {
    if (file !== part) await rm(file, { force: true });
  }
}

/** The digest the download must have: written in the entry, or read from the checksum file published beside it. */
async function expectedDigest(
  entry: ImageEntry,
  mirrors: MirrorRule[],
  signal: AbortSignal | undefined,
): Promise<{ algorithm: HashAlgorithm; hex: string }> {
  const sum = entry.checksum!;
  if ('value' in sum) return { algorithm: sum.algorithm, hex: sum.value };
  const fileName = basename(new URL(entry.url!).pathname);
  const sumsUrl = applyMirrors(sum.url, mirrors);
  const text = await getText(sumsUrl, { signal });
  // The entry's algorithm first; a file that only has the other one still counts.
  const found = findChecksum(text, fileName, sum.algorithm) ?? findChecksum(text, fileName);
  if (!found) throw new ChecksumNotFoundError(fileName, sumsUrl);
  return found;
}

/** The verified download itself, or — for a compressed image — what it decompresses to (NAME.tmp). */
async function decompressed(
  ctx: StoreContext,
  entry: ImageEntry,
  part: string,
  emit: PullProgress,
  steps: ImageSteps,
): Promise<string> {
  const compression = compressionOf(entry);
  if (compression === 'none') return part;
  await steps.at('decompress');
  emit({ type: 'decompress', image: entry.name, compression });
  const file = cachePath(ctx.dir, entry.name, 'tmp');
  try {
    await decompressFile(part, file, compression, { maxBytes: ctx.maxBytes, signal: steps.signal });
    return file;
  } catch (e) {
    await rm(file, { force: true });
    // A bomb is dropped whole; a missing xz/zstd (or an interruption) keeps the verified download.
    if (e instanceof ImageTooLargeError) await discardPart(part);
    throw e;
  }
}

const AFTER_DOWNLOAD = new Set(['decompress', 'check', 'commit']);

/** What an interrupted pull leaves: the partial (or whole, verified) download, and how to resume or drop it. */
async function keptDownload(part: string, name: string, reached: string | undefined): Promise<Kept> {
  const size = (await stat(part).catch(() => undefined))?.size ?? 0;
  if (size === 0) return { what: 'nothing was added to the cache' };
  const drop = `(or delete it: roost image rm ${name})`;
  if (reached && AFTER_DOWNLOAD.has(reached)) {
    return {
      what: `the image is not cached; the verified download is kept (${part}, ${size} bytes)`,
      hint: `finish with: roost image pull ${name}, which checks it again without downloading it   ${drop}`,
    };
  }
  return {
    what: `the image is not cached; the partial download is kept (${part}, ${size} bytes)`,
    hint: `resume it with: roost image pull ${name}   ${drop}`,
  };
}
