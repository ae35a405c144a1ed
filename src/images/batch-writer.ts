// Writes a stream of chunks to a file in large batches, one write in flight while the next batch fills.
//
// Why not fs.createWriteStream: an HTTP response arrives in 16–64 KiB chunks, and a write stream issues one
// write (one thread-pool round trip) per chunk. On a fast link that bookkeeping, not the network or the disk,
// bounded the download rate; batches written with writev lift it (BENCHMARKS.md, images).
import { open, type FileHandle } from 'node:fs/promises';
import { namingWrittenFile } from './fs-errors.js';

const DEFAULT_BATCH_BYTES = 1024 * 1024;
// Flush to disk every so often while the download runs, so that the final fdatasync has little left to do: a
// large file flushed only at the end makes the user wait for all of it after the last byte has arrived.
const SYNC_EVERY_BYTES = 32 * 1024 * 1024;

export interface BatchWriter {
  /** Queues a chunk; resolves at once unless a full batch must wait for the write before it. */
  write(chunk: Buffer): Promise<void>;
  /** Writes what is queued, then flushes the file's data to disk (fdatasync). */
  finish(): Promise<void>;
  /** Closes the file; safe to call after a failure, and more than once. */
  close(): Promise<void>;
}

export class FileWriteError extends Error {
  override readonly name = 'FileWriteError';
}

export async function openBatchWriter(
  path: string,
  opts: { append: boolean; mode: number; batchBytes?: number },
): Promise<BatchWriter> {
  const fh: FileHandle = await open(path, opts.append ? 'a' : 'w', opts.mode);
  const limit = opts.batchBytes ?? DEFAULT_BATCH_BYTES;
  let queued: Buffer[] = [];
  let queuedBytes = 0;
  let inFlight: Promise<void> = Promise.resolve();
  let failure: unknown;
  let closed = false;
  let unsynced = 0;
  let syncing: Promise<void> = Promise.resolve();

  const writeQueued = () => {
    const batch = queued;
    const bytes = queuedBytes;
    queued = [];
    queuedBytes = 0;
    // Caught here so that a failed write is never an unhandled rejection; reported on the next call.
    const fail = (e: unknown) => {
      failure ??= e;
    };
    inFlight = fh.writev(batch).then(() => {
      unsynced += bytes;
      if (unsynced < SYNC_EVERY_BYTES) return;
      unsynced = 0;
      // Not awaited by the next write: it runs beside the download; finish() waits for it.
      syncing = syncing.then(() => fh.datasync()).catch(fail);
    }, fail);
  };
  const rethrow = () => {
    if (failure !== undefined)
      throw new FileWriteError(`cannot write ${path}: ${(failure as Error).message}`, {
        cause: namingWrittenFile(failure, path),
      });
  };

  return {
    async write(chunk) {
      rethrow();
      queued.push(chunk);
      queuedBytes += chunk.length;
      if (queuedBytes < limit) return;
      await inFlight;
      rethrow();
      writeQueued();
    },
    async finish() {
      await inFlight;
      rethrow();
      if (queued.length > 0) writeQueued();
      await inFlight;
      await syncing;
      rethrow();
      await fh.datasync();
    },
    async close() {
      if (closed) return;
      closed = true;
      await inFlight;
      await syncing;
      await fh.close();
    },
  };
}
