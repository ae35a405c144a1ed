// Test helpers: a local HTTP server on 127.0.0.1 that serves fixture files the way image mirrors do (ETag,
// Last-Modified, Range/If-Range → 206), and can misbehave on demand (drop the connection part way, ignore
// Range). It logs every request so tests can count downloads. Also: fixture images.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoggedRequest {
  path: string;
  range?: string;
  ifRange?: string;
  status: number;
  /** Body bytes sent. */
  sent: number;
}

export interface FileServerOptions {
  files: Record<string, Buffer | string>;
  /** Drop the connection after this many body bytes on the first N GETs of a path. */
  drop?: { path: string; afterBytes: number; times?: number };
  /**
   * Stop sending a path after this many body bytes, on its first GET, until `release()`: a download held at an
   * exact point, for as long as a test needs (`held` resolves when the bytes are sent).
   */
  hold?: { path: string; afterBytes: number };
  /** Answer 200 with the whole file even when a range is asked for. */
  ignoreRange?: boolean;
  /** Bytes per write and the pause between writes: makes a download last long enough to overlap with another. */
  chunk?: { bytes: number; delayMs: number };
}

export interface FileServer {
  url: string;
  requests: LoggedRequest[];
  /** Replaces a file (its ETag changes). */
  set(path: string, data: Buffer | string): void;
  /** Resolves once a held response has sent its bytes up to the hold. */
  held: Promise<void>;
  /** Lets a held response go on. */
  release(): void;
  close(): Promise<void>;
}

const etagOf = (b: Buffer) => `"${createHash('sha1').update(b).digest('hex').slice(0, 16)}"`;
const LAST_MODIFIED = new Date('2024-01-01T00:00:00Z').toUTCString();

/** A one-shot hold: the first GET of `path` stops after `afterBytes` until released. */
function holdPoint(opts: FileServerOptions['hold']) {
  let reached!: () => void;
  let release!: () => void;
  const held = new Promise<void>((r) => (reached = r));
  const released = new Promise<void>((r) => (release = r));
  let used = !opts;
  return {
    held,
    release,
    /** Where the response for `path` must pause (an absolute offset), once; undefined otherwise. */
    take(path: string, start: number): number | undefined {
      if (used || path !== opts!.path) return undefined;
      used = true;
      return start + opts!.afterBytes;
    },
    async pause(): Promise<void> {
      reached();
      await released;
    },
  };
}

/** Status and headers for a GET of `body`: 206 for a range the file has (If-Range matching), 416 past its end. */
function answerHead(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  log: LoggedRequest,
  ignoreRange: boolean,
): number | undefined {
  const etag = etagOf(body);
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const rangeOk = m && !ignoreRange && (!log.ifRange || log.ifRange === etag);
  const start = rangeOk ? Number(m[1]) : 0;
  if (rangeOk && start >= body.length) {
    log.status = 416;
    res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
    return undefined;
  }
  log.status = rangeOk ? 206 : 200;
  const common = { etag, 'last-modified': LAST_MODIFIED };
  if (rangeOk) {
    res.writeHead(206, {
      ...common,
      'content-length': body.length - start,
      'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
      'accept-ranges': 'bytes',
    });
  } else {
    res.writeHead(200, {
      ...common,
      'content-length': body.length,
      'accept-ranges': ignoreRange ? 'none' : 'bytes',
    });
  }
  return start;
}

/** Writes body[start, end) in chunks, pausing at `pauseAt` (an offset) for the hold. */
async function sendBody(
  res: ServerResponse,
  body: Buffer,
  range: { start: number; end: number; pauseAt?: number },
  log: LoggedRequest,
  opts: { chunk?: FileServerOptions['chunk']; pause: () => Promise<void> },
): Promise<void> {
  const step = opts.chunk?.bytes ?? 64 * 1024;
  for (let off = range.start; off < range.end;) {
    const stop = range.pauseAt !== undefined && range.pauseAt > off ? range.pauseAt : range.end;
    const piece = body.subarray(off, Math.min(off + step, stop, range.end));
    if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
    log.sent += piece.length;
    off += piece.length;
    if (off === range.pauseAt) await opts.pause();
    if (opts.chunk) await new Promise((r) => setTimeout(r, opts.chunk!.delayMs));
  }
}

export async function startFileServer(opts: FileServerOptions): Promise<FileServer> {
  const files = new Map(Object.entries(opts.files).map(([k, v]) => [k, Buffer.from(v)]));
  const requests: LoggedRequest[] = [];
  const drops = new Map<string, number>();
  if (opts.drop) drops.set(opts.drop.path, opts.drop.times ?? 1);
  const hold = holdPoint(opts.hold);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const log: LoggedRequest = {
      path,
      range: req.headers.range,
      ifRange: req.headers['if-range'] as string | undefined,
      status: 0,
      sent: 0,
    };
    requests.push(log);
    const body = files.get(path);
    if (!body) {
      log.status = 404;
      res.writeHead(404).end('not found');
      return;
    }
    const start = answerHead(req, res, body, log, !!opts.ignoreRange);
    if (start === undefined) return;
    const left = drops.get(path) ?? 0;
    let end = body.length;
    if (left > 0 && opts.drop) {
      drops.set(path, left - 1);
      end = Math.min(end, start + opts.drop.afterBytes);
    }
    const pauseAt = hold.take(path, start);
    await sendBody(res, body, { start, end, pauseAt }, log, { chunk: opts.chunk, pause: hold.pause });
    if (end < body.length) {
      // Cut mid-body, as a failing mirror or network does.
      await new Promise((r) => setTimeout(r, 20));
      res.socket?.destroy();
      return;
    }
    res.end();
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    set: (p, d) => files.set(p, Buffer.from(d)),
    held: hold.held,
    release: hold.release,
    close: () =>
      new Promise((resolve) => {
        hold.release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A qcow2-looking fixture: a valid v3 header (virtual size `virtualSize`) followed by random bytes. */
export function fixtureQcow2(size = 1 << 20, virtualSize = 1 << 30, backingFile?: string): Buffer {
  const b = randomBytes(size);
  b.fill(0, 0, 512);
  b.writeUInt32BE(0x514649fb, 0); // "QFI\xfb"
  b.writeUInt32BE(3, 4); // version
  if (backingFile) {
    b.writeBigUInt64BE(BigInt(256), 8);
    b.writeUInt32BE(Buffer.byteLength(backingFile), 16);
    b.write(backingFile, 256);
  }
  b.writeUInt32BE(16, 20); // cluster bits
  b.writeBigUInt64BE(BigInt(virtualSize), 24);
  b.writeUInt32BE(4, 96); // refcount order
  b.writeUInt32BE(104, 100); // header length; the zeros after it end the header extensions
  return b;
}

/** A raw disk fixture: an MBR boot signature in its first sector, then random bytes. */
export function fixtureRaw(size = 1 << 20): Buffer {
  const b = randomBytes(size);
  b.fill(0, 0, 512);
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
export const sha512 = (b: Buffer | string) => createHash('sha512').update(b).digest('hex');
