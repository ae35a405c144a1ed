// A resumable, verified download into a partial file.
//
// The bytes go to NAME.part; beside it NAME.part.json keeps the URL and the server's validator (ETag, else
// Last-Modified). After an interruption — a dropped connection in this run, or a run killed part way — the next
// attempt asks for the rest with `Range: bytes=N-` and `If-Range: <validator>`, and appends only if the server
// answers 206 from exactly byte N; a 200 means the file changed or ranges are not supported, and the download
// starts over. The digest is computed while the bytes stream in (the kept prefix is hashed first), and the
// file is returned only when it matches: a mismatch deletes the partial file, so a corrupt download is never
// used and never resumed.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FileWriteError, openBatchWriter } from './batch-writer.js';
import { ChecksumMismatchError, DownloadError, ImageTooLargeError } from './errors.js';
import { get } from './http.js';
import { DEFAULT_MAX_IMAGE_BYTES } from './limits.js';
import type { HashAlgorithm, PullProgress } from './types.js';

export interface DownloadOptions {
  url: string;
  /** The partial file; its validator is kept in `${part}.json`. */
  part: string;
  /** Image name, for progress events and messages. */
  image: string;
  /** Digest the finished file must have; without one, the sha256 is computed and returned. */
  expected?: { algorithm: HashAlgorithm; hex: string };
  onProgress?: PullProgress;
  signal?: AbortSignal;
  /** Attempts after a dropped connection or a 5xx (default 5), each resuming where the last stopped. */
  retries?: number;
  retryDelayMs?: number;
  idleTimeoutMs?: number;
  /** Least time between two progress events (default 100 ms). */
  progressIntervalMs?: number;
  /** The file may not grow past this (default DEFAULT_MAX_IMAGE_BYTES), whatever the server says or sends. */
  maxBytes?: number;
  /** Extra trusted certificates (PEM) for https. */
  ca?: string | Buffer;
}

export interface DownloadResult {
  size: number;
  algorithm: HashAlgorithm;
  digest: string;
  /** Bytes transferred by this call (less than size after a resume). */
  transferred: number;
}

interface PartState {
  url: string;
  etag?: string;
  lastModified?: string;
}

const PRIVATE = 0o600;

async function readPartState(part: string, url: string): Promise<{ offset: number; validator?: string }> {
  try {
    const state = JSON.parse(await readFile(`${part}.json`, 'utf8')) as PartState;
    const { size } = await stat(part);
    const validator = state.etag ?? state.lastModified;
    // A weak ETag cannot validate a byte range (RFC 9110 §13.1.5).
    if (state.url === url && validator && !validator.startsWith('W/') && size > 0)
      return { offset: size, validator };
  } catch {
    // No usable partial download: start from the beginning.
  }
  return { offset: 0 };
}

/** Removes a partial download and its state. */
export async function discardPart(part: string): Promise<void> {
  await rm(part, { force: true });
  await rm(`${part}.json`, { force: true });
}

async function hashPrefix(hash: Hash, path: string, length: number): Promise<void> {
  if (length === 0) return;
  for await (const chunk of createReadStream(path, { start: 0, end: length - 1 }))
    hash.update(chunk as Buffer);
}

export async function downloadResumable(opts: DownloadOptions): Promise<DownloadResult> {
  const retries = opts.retries ?? 5;
  const algorithm = opts.expected?.algorithm ?? 'sha256';
  let transferred = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await attemptOnce(opts, algorithm, (n) => (transferred += n));
      if (opts.expected && r.digest !== opts.expected.hex) {
        await discardPart(opts.part);
        throw new ChecksumMismatchError(opts.image, algorithm, opts.expected.hex, r.digest);
      }
      return { ...r, algorithm, transferred };
    } catch (e) {
      const retryable = e instanceof DownloadError && e.retryable && !opts.signal?.aborted;
      if (!retryable || attempt >= retries) throw e;
      const { offset } = await readPartState(opts.part, opts.url);
      opts.onProgress?.({
        type: 'retry',
        image: opts.image,
        attempt: attempt + 1,
        reason: (e as Error).message,
        resumeFrom: offset,
      });
      await new Promise((r) => setTimeout(r, (opts.retryDelayMs ?? 1000) * 2 ** Math.min(attempt, 4)));
    }
  }
}

async function attemptOnce(
  opts: DownloadOptions,
  algorithm: HashAlgorithm,
  count: (n: number) => void,
): Promise<{ size: number; digest: string }> {
  const state = await readPartState(opts.part, opts.url);
  const validator = state.validator;
  let offset = state.offset;
  const headers: Record<string, string> = {};
  if (offset > 0 && validator) {
    headers.range = `bytes=${offset}-`;
    headers['if-range'] = validator;
  }
  const { res } = await get(opts.url, {
    headers,
    signal: opts.signal,
    idleTimeoutMs: opts.idleTimeoutMs,
    ca: opts.ca,
  });
  const status = res.statusCode ?? 0;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  const tooLarge = async () => {
    res.destroy();
    await discardPart(opts.part);
    return new ImageTooLargeError(`${opts.url}`, maxBytes);
  };

  let total: number | undefined;
  if (status === 206 && offset > 0) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
    if (!m || Number(m[1]) !== offset) {
      // Not the range we asked for: start over on the next attempt.
      res.resume();
      await discardPart(opts.part);
      throw new DownloadError(opts.url, `${opts.url}: unexpected Content-Range, restarting`, {
        retryable: true,
      });
    }
    total = m[3] === '*' ? undefined : Number(m[3]);
  } else if (status === 200) {
    offset = 0;
    const len = Number(res.headers['content-length']);
    total = Number.isFinite(len) && res.headers['content-length'] !== undefined ? len : undefined;
    const state: PartState = {
      url: opts.url,
      etag: headerString(res.headers.etag),
      lastModified: headerString(res.headers['last-modified']),
    };
    await writeFile(`${opts.part}.json`, JSON.stringify(state) + '\n', { mode: PRIVATE });
  } else {
    res.resume();
    if (status === 416) await discardPart(opts.part);
    throw new DownloadError(opts.url, `cannot download ${opts.url}: HTTP ${status}`, {
      status,
      retryable: status === 416 || status === 408 || status === 429 || status >= 500,
      hint:
        status === 404
          ? 'the image may have moved: check the catalogue entry (roost image ls --json)'
          : undefined,
    });
  }

  // A declared size over the limit is refused before a byte is written; an undeclared one is counted below.
  if (total !== undefined && total > maxBytes) throw await tooLarge();

  const hash = createHash(algorithm);
  await hashPrefix(hash, opts.part, offset);
  opts.onProgress?.({ type: 'start', image: opts.image, url: opts.url, total, resumeFrom: offset });

  let received = offset;
  const started = Date.now();
  let lastEvent = 0;
  const interval = opts.progressIntervalMs ?? 100;
  const emit = (force: boolean) => {
    const now = Date.now();
    if (!opts.onProgress || (!force && now - lastEvent < interval)) return;
    lastEvent = now;
    const secs = Math.max((now - started) / 1000, 0.001);
    const rate = (received - offset) / secs;
    const eta = total !== undefined && rate > 0 ? (total - received) / rate : undefined;
    opts.onProgress({ type: 'progress', image: opts.image, received, total, rate, eta });
  };
  const writer = await openBatchWriter(opts.part, { append: offset > 0, mode: PRIVATE });
  let dropped: unknown;
  let overLimit = false;
  try {
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        if (received + chunk.length > maxBytes) {
          overLimit = true;
          break;
        }
        hash.update(chunk);
        received += chunk.length;
        count(chunk.length);
        emit(false);
        await writer.write(chunk);
      }
    } catch (e) {
      if (e instanceof FileWriteError || opts.signal?.aborted) throw e;
      dropped = e;
    }
    // What arrived is written even when the connection dropped: the next attempt resumes after it.
    // On disk (fdatasync) before anyone renames it into the cache.
    await writer.finish();
  } catch (e) {
    if (e instanceof FileWriteError) {
      throw new DownloadError(opts.url, e.message, {
        cause: e,
        hint: `check the free space and permissions of ${dirname(opts.part)}`,
      });
    }
    throw e;
  } finally {
    await writer.close();
  }
  if (overLimit) throw await tooLarge();
  if (dropped !== undefined) {
    throw new DownloadError(
      opts.url,
      `connection to ${new URL(opts.url).host} dropped after ${received} bytes`,
      { cause: dropped, retryable: true },
    );
  }
  if (total !== undefined && received !== total) {
    throw new DownloadError(opts.url, `${opts.url} ended after ${received} of ${total} bytes`, {
      retryable: true,
    });
  }
  emit(true);
  return { size: received, digest: hash.digest('hex') };
}

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
