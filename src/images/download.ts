// A resumable, verified download into a partial file.
//
// The bytes go to NAME.part; beside it NAME.part.json keeps the URL and the server's validator (ETag, else
// Last-Modified). After an interruption — a dropped connection in this run, or a run killed part way — the next
// attempt asks for the rest with `Range: bytes=N-` and `If-Range: <validator>`, and appends only if the server
// answers 206 from exactly byte N; a 200 means the file changed or ranges are not supported, and the download
// starts over. The digest is computed while the bytes stream in (the kept prefix is hashed first), and the
// file is returned only when it matches: a mismatch deletes the partial file, so a corrupt download is never
// used and never resumed. A partial file that is whole already (a pull interrupted after its download) is
// answered 416 naming its size: it is hashed again, not fetched again.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { dirname } from 'node:path';
import { FileWriteError, openBatchWriter } from './batch-writer.js';
import { hashFile } from './checksum.js';
import { ChecksumMismatchError, DownloadError, ImageTooLargeError } from './errors.js';
import { get } from './http.js';
import { isNoSpace } from './fs-errors.js';
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

/** An interruption before the first byte leaves no partial file (and no state) behind. */
async function dropIfEmpty(part: string): Promise<void> {
  const size = (await stat(part).catch(() => undefined))?.size;
  if (!size) await discardPart(part);
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
      if (opts.signal?.aborted) {
        await dropIfEmpty(opts.part);
        throw e;
      }
      const retryable = e instanceof DownloadError && e.retryable;
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
  const res = await requestFrom(opts, state);
  const body = await acceptResponse(opts, res, state.offset);
  if (body === 'complete') {
    // Kept whole by an interrupted run (after the download, before the commit): verified again, not fetched.
    return { size: state.offset, digest: await hashFile(opts.part, algorithm) };
  }
  // A declared size over the limit is refused before a byte is written; an undeclared one is counted below.
  if (body.total !== undefined && body.total > maxBytesOf(opts)) throw await tooLarge(opts, res);
  const hash = createHash(algorithm);
  await hashPrefix(hash, opts.part, body.offset);
  opts.onProgress?.({
    type: 'start',
    image: opts.image,
    url: opts.url,
    total: body.total,
    resumeFrom: body.offset,
  });
  const received = await receiveBody(opts, res, body, hash, count);
  if (body.total !== undefined && received !== body.total) {
    throw new DownloadError(opts.url, `${opts.url} ended after ${received} of ${body.total} bytes`, {
      retryable: true,
    });
  }
  return { size: received, digest: hash.digest('hex') };
}

const maxBytesOf = (opts: DownloadOptions) => opts.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES;

/** GET the file, asking only for the rest when a partial one with a validator is kept. */
async function requestFrom(
  opts: DownloadOptions,
  state: { offset: number; validator?: string },
): Promise<IncomingMessage> {
  const headers: Record<string, string> = {};
  if (state.offset > 0 && state.validator) {
    headers.range = `bytes=${state.offset}-`;
    headers['if-range'] = state.validator;
  }
  const { res } = await get(opts.url, {
    headers,
    signal: opts.signal,
    idleTimeoutMs: opts.idleTimeoutMs,
    ca: opts.ca,
  });
  return res;
}

interface Body {
  /** Where the body's first byte goes in the partial file. */
  offset: number;
  total?: number;
}

/**
 * What the answer means for the partial file: the rest of it (206 from exactly `offset`), a new whole file
 * (200: the partial one is dropped, the new validator kept), or — a 416 naming exactly `offset` as the size —
 * that the kept file is whole already. Anything else throws.
 */
async function acceptResponse(
  opts: DownloadOptions,
  res: IncomingMessage,
  offset: number,
): Promise<Body | 'complete'> {
  const status = res.statusCode ?? 0;
  if (status === 206 && offset > 0) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
    if (m && Number(m[1]) === offset) return { offset, total: m[3] === '*' ? undefined : Number(m[3]) };
    // Not the range we asked for: start over on the next attempt.
    res.resume();
    await discardPart(opts.part);
    throw new DownloadError(opts.url, `${opts.url}: unexpected Content-Range, restarting`, {
      retryable: true,
    });
  }
  if (status === 200) {
    await writePartState(opts, res);
    const len = Number(res.headers['content-length']);
    const declared = Number.isFinite(len) && res.headers['content-length'] !== undefined;
    return { offset: 0, total: declared ? len : undefined };
  }
  res.resume();
  if (status === 416 && offset > 0 && String(res.headers['content-range']) === `bytes */${offset}`)
    return 'complete';
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

async function writePartState(opts: DownloadOptions, res: IncomingMessage): Promise<void> {
  const state: PartState = {
    url: opts.url,
    etag: headerString(res.headers.etag),
    lastModified: headerString(res.headers['last-modified']),
  };
  await writeFile(`${opts.part}.json`, JSON.stringify(state) + '\n', { mode: PRIVATE });
}

async function tooLarge(opts: DownloadOptions, res: IncomingMessage): Promise<ImageTooLargeError> {
  res.destroy();
  await discardPart(opts.part);
  return new ImageTooLargeError(opts.url, maxBytesOf(opts));
}

/** Progress events at most every `progressIntervalMs` (or when forced), with rate and ETA. */
function progressReporter(opts: DownloadOptions, body: Body): (received: number, force: boolean) => void {
  const started = Date.now();
  let lastEvent = 0;
  const interval = opts.progressIntervalMs ?? 100;
  return (received, force) => {
    const now = Date.now();
    if (!opts.onProgress || (!force && now - lastEvent < interval)) return;
    lastEvent = now;
    const secs = Math.max((now - started) / 1000, 0.001);
    const rate = (received - body.offset) / secs;
    const eta = body.total !== undefined && rate > 0 ? (body.total - received) / rate : undefined;
    opts.onProgress({ type: 'progress', image: opts.image, received, total: body.total, rate, eta });
  };
}

/**
 * Streams the body into the partial file (appending after `offset`), hashing it; returns the file's size. What
 * arrived is written even when the connection drops or the pull is interrupted: the next attempt resumes after
 * it. A full disk keeps what was written and names the file (NO_SPACE); the next pull, with space, resumes.
 */
async function receiveBody(
  opts: DownloadOptions,
  res: IncomingMessage,
  body: Body,
  hash: Hash,
  count: (n: number) => void,
): Promise<number> {
  const report = progressReporter(opts, body);
  const maxBytes = maxBytesOf(opts);
  let received = body.offset;
  let dropped: unknown;
  let overLimit = false;
  const writer = await openBatchWriter(opts.part, { append: body.offset > 0, mode: PRIVATE });
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
        report(received, false);
        await writer.write(chunk);
      }
    } catch (e) {
      if (e instanceof FileWriteError) throw e;
      dropped = e;
    }
    // On disk (fdatasync) before anyone renames it into the cache.
    await writer.finish();
  } catch (e) {
    throw writeFailure(opts, e);
  } finally {
    await writer.close();
  }
  if (overLimit) throw await tooLarge(opts, res);
  if (dropped !== undefined) {
    if (opts.signal?.aborted) throw dropped;
    throw new DownloadError(
      opts.url,
      `connection to ${new URL(opts.url).host} dropped after ${received} bytes`,
      { cause: dropped, retryable: true },
    );
  }
  report(received, true);
  return received;
}

/** A failed write of the partial file: a full disk as itself (NO_SPACE, naming the file), else what failed. */
function writeFailure(opts: DownloadOptions, e: unknown): unknown {
  if (!(e instanceof FileWriteError)) return e;
  if (isNoSpace(e.cause)) return e.cause;
  return new DownloadError(opts.url, e.message, {
    cause: e,
    hint: `check the free space and permissions of ${dirname(opts.part)}`,
  });
}

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
