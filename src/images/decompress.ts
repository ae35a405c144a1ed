// Streaming decompression of a downloaded image. Node 20's zlib has gzip but neither xz nor zstd, so those run
// the `xz`/`zstd` programs (argument arrays, never a shell) with their output streamed to the destination.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DecompressError } from './errors.js';
import type { Compression } from './types.js';

const TOOLS = {
  xz: { program: 'xz', pkg: 'xz-utils' },
  zst: { program: 'zstd', pkg: 'zstd' },
} as const;

/** Decompresses `src` into `dest` (created 0600). */
export async function decompressFile(src: string, dest: string, compression: Compression): Promise<void> {
  const out = createWriteStream(dest, { mode: 0o600 });
  if (compression === 'none') {
    await pipeline(createReadStream(src), out);
    return;
  }
  if (compression === 'gz') {
    try {
      await pipeline(createReadStream(src), createGunzip(), out);
    } catch (e) {
      throw new DecompressError(`cannot decompress ${src}: ${(e as Error).message}`, { cause: e });
    }
    return;
  }
  const { program, pkg } = TOOLS[compression];
  const child = spawn(program, ['-d', '-c', '--', src], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  try {
    const [, code] = await Promise.all([pipeline(child.stdout, out), exited]);
    if (code !== 0) {
      throw new DecompressError(
        `${program} could not decompress ${src}: ${stderr.trim() || `exit code ${code}`}`,
      );
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      out.destroy();
      throw new DecompressError(`this image is ${compression}-compressed and '${program}' is not installed`, {
        hint: `sudo apt-get install ${pkg}   (Fedora: sudo dnf install ${program})`,
        cause: e,
      });
    }
    if (e instanceof DecompressError) throw e;
    throw new DecompressError(`cannot decompress ${src}: ${(e as Error).message}`, { cause: e });
  }
}
