// Streaming decompression of a downloaded image. Node 20's zlib has gzip but neither xz nor zstd, so those run
// the `xz`/`zstd` programs (argument arrays, never a shell) with their output streamed to the destination.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DecompressError, ImageTooLargeError } from './errors.js';
import { isNoSpace, namingWrittenFile } from './fs-errors.js';
import { DEFAULT_MAX_IMAGE_BYTES } from './limits.js';
import type { Compression } from './types.js';

const TOOLS = {
  xz: { program: 'xz', pkg: 'xz-utils' },
  zst: { program: 'zstd', pkg: 'zstd' },
} as const;

/** Passes bytes through until more than `max` have gone by, then fails the pipeline (a decompression bomb). */
function byteLimit(max: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > max) done(new ImageTooLargeError(what, max));
      else done(null, chunk);
    },
  });
}

/**
 * Decompresses `src` into `dest` (created 0600), stopping with ImageTooLargeError once the output passes
 * `maxBytes` (default DEFAULT_MAX_IMAGE_BYTES), or with an abort error when `signal` is aborted; the caller
 * removes `dest`. A full filesystem fails with its own error, naming `dest`.
 */
export async function decompressFile(
  src: string,
  dest: string,
  compression: Compression,
  opts: { maxBytes?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const out = createWriteStream(dest, { mode: 0o600 });
  const limit = byteLimit(opts.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES, `${src} decompressed`);
  const signal = opts.signal;
  try {
    if (compression === 'none') await pipeline(createReadStream(src), limit, out, { signal });
    else if (compression === 'gz')
      await pipeline(createReadStream(src), createGunzip(), limit, out, { signal });
    else await runDecompressor(TOOLS[compression], src, limit, out, signal);
  } catch (e) {
    out.destroy();
    throw decompressFailure(e, src, dest, compression);
  }
}

/** `xz -d -c` or `zstd -d -c` (an argument array, never a shell), its output streamed through `limit` to `out`. */
async function runDecompressor(
  tool: (typeof TOOLS)[keyof typeof TOOLS],
  src: string,
  limit: Transform,
  out: Writable,
  signal: AbortSignal | undefined,
): Promise<void> {
  const child = spawn(tool.program, ['-d', '-c', '--', src], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const [, code] = await Promise.all([
    pipeline(child.stdout, limit, out, { signal }).catch((e: unknown) => {
      // Stop the decompressor too: its output has nowhere to go.
      child.kill();
      throw e;
    }),
    exited,
  ]);
  if (code !== 0) {
    throw new DecompressError(
      `${tool.program} could not decompress ${src}: ${stderr.trim() || `exit code ${code}`}`,
    );
  }
}

/** What a failed decompression is reported as: the limit, a full disk and an interruption as themselves. */
function decompressFailure(e: unknown, src: string, dest: string, compression: Compression): unknown {
  if (e instanceof DecompressError || e instanceof ImageTooLargeError) return e;
  if (isNoSpace(e)) return namingWrittenFile(e, dest);
  if ((e as Error).name === 'AbortError') return e;
  if ((e as NodeJS.ErrnoException).code === 'ENOENT' && compression !== 'none' && compression !== 'gz') {
    const { program, pkg } = TOOLS[compression];
    return new DecompressError(`this image is ${compression}-compressed and '${program}' is not installed`, {
      hint: `sudo apt-get install ${pkg}   (Fedora: sudo dnf install ${program})`,
      cause: e,
    });
  }
  return new DecompressError(`cannot decompress ${src}: ${(e as Error).message}`, { cause: e });
}
