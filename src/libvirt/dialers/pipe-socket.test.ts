// PipeSocket against real UNIX sockets served by net.Server: the bytes, flow control, EOF, close and connect
// errors the RPC client relies on, and the same error codes as net.Socket for the same paths.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectPipe, pipeSocketsAvailable, type PipeSocket } from './pipe-socket.js';

let dir: string;
let servers: Server[];
let clients: PipeSocket[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'roost-pipe-'));
  servers = [];
  clients = [];
});

afterEach(async () => {
  for (const c of clients) c.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

async function serve(path: string, onConnection: (c: Socket) => void): Promise<void> {
  const server = createServer(onConnection);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
}

async function dial(path: string): Promise<PipeSocket> {
  const socket = await connectPipe(path);
  if (!socket) throw new Error('no pipe handle on this Node');
  clients.push(socket);
  return socket;
}

/** A PipeSocket connected to a server end that reads nothing until the test resumes it. */
async function dialPausedPeer(name: string): Promise<{ socket: PipeSocket; peer: Socket }> {
  const path = join(dir, name);
  let peer!: Socket;
  const connected = new Promise<void>((resolve) =>
    serve(path, (c) => {
      peer = c;
      c.pause();
      resolve();
    }),
  );
  const socket = await dial(path);
  await connected;
  return { socket, peer };
}

function collect(socket: PipeSocket, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  return new Promise((resolve, reject) => {
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= bytes) resolve(Buffer.concat(chunks));
    });
    socket.on('error', reject);
  });
}

/** The error code net.Socket reports for connecting to `path`. */
function netErrorCode(path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = createConnection({ path });
    s.on('connect', () => {
      s.destroy();
      resolve(undefined);
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code));
  });
}

describe('PipeSocket', () => {
  it('is what roost uses on this Node (else every connection would silently take net.Socket)', () => {
    expect(process.versions.node.split('.')[0]).toBe('20');
    expect(pipeSocketsAvailable()).toBe(true);
  });

  it('carries bytes both ways, corked writes going out together and in order', async () => {
    const path = join(dir, 'echo.sock');
    await serve(path, (c) => c.pipe(c));
    const socket = await dial(path);
    const parts = Array.from({ length: 50 }, (_, i) => randomBytes(1 + i * 97));
    const total = parts.reduce((n, p) => n + p.length, 0);
    const received = collect(socket, total);
    socket.cork();
    for (const p of parts.slice(0, 25)) socket.write(p);
    socket.uncork();
    for (const p of parts.slice(25)) socket.write(p);
    expect((await received).equals(Buffer.concat(parts))).toBe(true);
  });

  it('says "wait" past the high-water mark and emits drain once the reader caught up', async () => {
    const { socket, peer } = await dialPausedPeer('slow.sock');
    const payload = randomBytes(8 * 1024 * 1024);
    let room = true;
    let written = 0;
    for (let off = 0; off < payload.length && room; off += 64 * 1024, written += 64 * 1024)
      room = socket.write(payload.subarray(off, off + 64 * 1024));
    expect(room).toBe(false);
    const drained = new Promise<void>((resolve) => socket.once('drain', resolve));
    let got = 0;
    const all = new Promise<void>((resolve) =>
      peer.on('data', (d: Buffer) => (got += d.length) >= written && resolve()),
    );
    peer.resume();
    await drained;
    await all;
  });

  it('delivers every byte in order when writes the kernel takes at once and writes it cannot take alternate', async () => {
    // Writes taken at once share one request object; one that goes asynchronous keeps its own until done. Small
    // writes, then big ones into a paused peer (asynchronous), then small ones again: all arrive, in order.
    const { socket, peer } = await dialPausedPeer('mixed.sock');
    const parts = [
      ...Array.from({ length: 20 }, () => randomBytes(100)),
      ...Array.from({ length: 8 }, () => randomBytes(1024 * 1024)),
      ...Array.from({ length: 20 }, () => randomBytes(100)),
    ];
    for (const p of parts) socket.write(p);
    const expected = Buffer.concat(parts);
    const chunks: Buffer[] = [];
    let got = 0;
    const all = new Promise<void>((resolve) =>
      peer.on('data', (d: Buffer) => {
        chunks.push(d);
        if ((got += d.length) >= expected.length) resolve();
      }),
    );
    peer.resume();
    await all;
    expect(Buffer.concat(chunks).equals(expected)).toBe(true);
  });

  it('keeps bytes that arrive before anyone listens, and delivers none while paused', async () => {
    const path = join(dir, 'early.sock');
    let peer!: Socket;
    await serve(path, (c) => {
      peer = c;
      c.write('early');
    });
    const socket = await dial(path);
    await new Promise((r) => setTimeout(r, 50));
    expect(String(await collect(socket, 5))).toBe('early');

    socket.pause();
    let during = '';
    socket.on('data', (d) => (during += String(d)));
    peer.write('later');
    await new Promise((r) => setTimeout(r, 50));
    expect(during).toBe('');
    socket.resume();
    await new Promise((r) => setTimeout(r, 50));
    expect(during).toBe('later');
  });

  it("ends with 'end' then 'close' when the other side closes", async () => {
    const path = join(dir, 'bye.sock');
    await serve(path, (c) => c.end('bye'));
    const socket = await dial(path);
    const events: string[] = [];
    socket.on('data', (d) => events.push(`data:${String(d)}`));
    socket.on('end', () => events.push('end'));
    await new Promise<void>((resolve) =>
      socket.on('close', () => {
        events.push('close');
        resolve();
      }),
    );
    expect(events).toEqual(['data:bye', 'end', 'close']);
  });

  it("destroy() closes the connection (the peer sees its end) and emits 'close' once", async () => {
    const path = join(dir, 'shut.sock');
    const peerEnded = new Promise<void>((resolve) =>
      serve(path, (c) => {
        c.on('end', resolve);
        c.resume();
      }),
    );
    const socket = await dial(path);
    let closes = 0;
    const closed = new Promise<void>((resolve) => socket.on('close', () => ++closes && resolve()));
    socket.destroy();
    socket.destroy();
    expect(socket.write(Buffer.from('x'))).toBe(false);
    await Promise.all([closed, peerEnded]);
    expect(closes).toBe(1);
  });

  it('reaches a Linux abstract socket (a leading NUL)', async () => {
    const name = `\0roost-pipe-test-${process.pid}`;
    await serve(name, (c) => c.end('abstract'));
    const socket = await dial(name);
    expect(String(await collect(socket, 8))).toBe('abstract');
  });

  it.each([
    ['a missing path', (d: string) => join(d, 'nothing-here')],
    ['a file that is not a socket', (d: string) => (writeFileSync(join(d, 'plain'), ''), join(d, 'plain'))],
    ['a missing directory', (d: string) => join(d, 'no-dir', 'sock')],
    ['a path through a file', (d: string) => (writeFileSync(join(d, 'f'), ''), join(d, 'f', 'sock'))],
  ])('fails to connect to %s with the code net.Socket reports', async (_what, make) => {
    const path = make(dir);
    const expected = await netErrorCode(path);
    expect(expected).toBeDefined();
    const err = (await connectPipe(path).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe(expected);
    expect(err.syscall).toBe('connect');
    expect(err.message).toContain(path);
  });

  it('fails with ECONNREFUSED where a socket file has no listener', async () => {
    const path = join(dir, 'gone.sock');
    // A listening socket whose server process died: the file stays, nobody accepts.
    const { spawnSync } = await import('node:child_process');
    const script = `require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))`;
    expect(spawnSync(process.execPath, ['-e', script, path]).signal).toBe('SIGKILL');
    const err = (await connectPipe(path).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err.code).toBe('ECONNREFUSED');
    expect(await netErrorCode(path)).toBe('ECONNREFUSED');
  });
});
