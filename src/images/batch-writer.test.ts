import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileWriteError, openBatchWriter } from './batch-writer.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roost-bw-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('openBatchWriter', () => {
  it('writes every chunk in order across batch boundaries, with the mode asked for', async () => {
    const path = join(dir, 'out');
    // Uneven chunk sizes so that batches end mid-stream and a last partial batch remains.
    const chunks = Array.from({ length: 97 }, (_, i) => randomBytes(1 + ((i * 7919) % 5000)));
    const w = await openBatchWriter(path, { append: false, mode: 0o600, batchBytes: 16 * 1024 });
    for (const c of chunks) await w.write(c);
    await w.finish();
    await w.close();
    await w.close(); // twice is harmless
    expect((await readFile(path)).equals(Buffer.concat(chunks))).toBe(true);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('appends to what a previous attempt left', async () => {
    const path = join(dir, 'out');
    await writeFile(path, 'kept-');
    const w = await openBatchWriter(path, { append: true, mode: 0o600 });
    await w.write(Buffer.from('rest'));
    await w.finish();
    await w.close();
    expect(await readFile(path, 'utf8')).toBe('kept-rest');
  });

  it('reports a failed write (a full disk) as FileWriteError naming the file', async () => {
    // /dev/full accepts open() and fails every write with ENOSPC: a real full disk, not a mock.
    const w = await openBatchWriter('/dev/full', { append: false, mode: 0o600, batchBytes: 1024 });
    let err: unknown;
    try {
      for (let i = 0; i < 8; i++) await w.write(Buffer.alloc(1024));
      await w.finish();
    } catch (e) {
      err = e;
    } finally {
      await w.close();
    }
    expect(err).toBeInstanceOf(FileWriteError);
    expect((err as Error).message).toMatch(/cannot write \/dev\/full: .*ENOSPC/);
  });
});
