// `roost image import FILE --as NAME`: a local image into the cache, as a private copy. Steps (images/steps.ts):
// copy (a reflink where the filesystem can) or decompress into NAME.import-tmp, check (the probe), hash, commit
// (rename into the cache; the metadata last). An interruption or a failure removes NAME.import-tmp: nothing
// enters the cache, and an image it was to replace (--force) stays until the commit.
import { constants } from 'node:fs';
import { chmod, copyFile, rm, stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { UsageError } from '../errors.js';
import { ensurePrivateDir } from '../paths.js';
import { cachePath, commitImage, readCached, removeCached, type CachedImage } from './cache.js';
import { findEntry } from './catalog.js';
import { hashFile } from './checksum.js';
import { catalogueOf, type StoreContext } from './context.js';
import { decompressFile } from './decompress.js';
import { ImageRefusedError } from './errors.js';
import { namingWrittenFile } from './fs-errors.js';
import { checkImageName } from './names.js';
import { assertRegularFile, assertUsableImage, type ImageFacts } from './probe.js';
import { ImageSteps, type StepBoundary } from './steps.js';
import type { Compression, Firmware, ImageEntry } from './types.js';

export interface ImportOptions {
  as: string;
  os?: string;
  user?: string;
  firmware?: Firmware;
  /** Replace an image of that name already in the cache. */
  force?: boolean;
  /** Aborted on an interruption: the import stops at its next step, or cuts a decompression short. */
  signal?: AbortSignal;
  /** Awaited at each step boundary (the CLI's test hook). */
  boundary?: StepBoundary;
}

export async function importImage(ctx: StoreContext, file: string, o: ImportOptions): Promise<CachedImage> {
  checkImageName(o.as);
  const src = resolvePath(file);
  const compression = compressionOfFile(src);
  // An uncompressed file is checked before it is copied (a FIFO or a non-image is refused at once);
  // a compressed one once decompressed.
  if (compression === 'none') await assertUsableImage(src, { copiedFirst: true });
  else assertRegularFile(src, 'image');
  if (!o.force && (await readCached(ctx.dir, o.as))) {
    throw new UsageError('IMAGE_EXISTS', `an image named '${o.as}' is already in the cache`, {
      hint: `use another name, or replace it: roost image import ${file} --as ${o.as} --force`,
    });
  }
  const steps = new ImageSteps(`roost image import ${file}`, o.signal, o.boundary);
  const tmp = cachePath(ctx.dir, o.as, 'import-tmp');
  try {
    return await copyCheckCommit(ctx, { file, src, compression, tmp }, o, steps);
  } catch (e) {
    throw await steps.explain(e, () => Promise.resolve({ what: 'nothing was added to the cache' }));
  } finally {
    await rm(tmp, { force: true });
  }
}

interface ImportFiles {
  /** As the user gave it, for messages. */
  file: string;
  src: string;
  compression: Compression;
  tmp: string;
}

async function copyCheckCommit(
  ctx: StoreContext,
  f: ImportFiles,
  o: ImportOptions,
  steps: ImageSteps,
): Promise<CachedImage> {
  await steps.at(f.compression === 'none' ? 'copy' : 'decompress');
  ensurePrivateDir(ctx.dir);
  await copyIntoCache(ctx, f, steps.signal);
  await steps.at('check');
  const facts = await assertUsableImage(f.tmp).catch((e: unknown) => {
    throw e instanceof ImageRefusedError ? namingSource(e, f.tmp, f.file) : e;
  });
  const entry = importedEntry(o, facts, findEntry(await catalogueOf(ctx), o.as));
  await steps.at('hash');
  const digest = { algorithm: 'sha256' as const, hex: await hashFile(f.tmp, 'sha256') };
  await steps.at('commit');
  if (o.force) await removeCached(ctx.dir, o.as);
  return commitImage(ctx.dir, f.tmp, {
    name: o.as,
    format: facts.format,
    virtualSize: facts.virtualSize,
    size: (await stat(f.tmp)).size,
    source: 'import',
    digest,
    entry,
  });
}

/** The file as a private copy (a reflink where the filesystem can), or what it decompresses to. */
async function copyIntoCache(ctx: StoreContext, f: ImportFiles, signal: AbortSignal | undefined) {
  if (f.compression === 'none') {
    await copyFile(f.src, f.tmp, constants.COPYFILE_FICLONE).catch((e: unknown) => {
      throw namingWrittenFile(e, f.tmp);
    });
  } else {
    await decompressFile(f.src, f.tmp, f.compression, { maxBytes: ctx.maxBytes, signal });
  }
  await chmod(f.tmp, 0o600);
}

/** The entry an import gets: what the user said, else what a catalogue entry of that name lends it. */
function importedEntry(o: ImportOptions, facts: ImageFacts, base: ImageEntry | undefined): ImageEntry {
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
  return entry;
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
