// A UNIX-socket connection made directly on libuv's pipe handle — the same handle that net.Socket wraps — for
// the local daemon socket that every roost command dials.
//
// Why not net.Socket: loading `net` (and the stream machinery behind it) and running a socket's first connect,
// write and reads compiles a good deal of Node's own JavaScript on every CLI start — Node's embedded code cache
// holds only its modules' top-level code — and `roost ls` has a start-up target (BENCHMARKS.md). The RPC client
// needs only bytes in, bytes out, flow control and close, which is what the handle gives.
//
// The handle is reached through process.binding(), which Node keeps for these wraps but does not document.
// So this is used only on the Node majors it was tested with, only when every piece looks as expected, and
// otherwise `connectPipe` returns undefined and the caller uses net.Socket (unix-socket.ts). The integration tests
// run over this path; its unit tests cover data, flow control, EOF, close and connect errors.

import { EventEmitter } from 'node:events';
import { getSystemErrorName } from 'node:util';

interface Request {
  oncomplete: (status: number) => void;
  handle?: Handle;
  buffer?: Buffer | Buffer[];
}

interface Handle {
  /** Called after each read; with a user buffer (useUserBuffer) the bytes are in it and the count in `state`. */
  onread: () => void;
  connect(req: Request, address: string): number;
  readStart(): number;
  readStop(): number;
  /** Reads go into this buffer instead of a fresh 64 KiB allocation each (net.Socket's `onread.buffer`). */
  useUserBuffer(buffer: Uint8Array): void;
  writeBuffer(req: Request, data: Buffer): number;
  writev(req: Request, chunks: Buffer[], allBuffers: true): number;
  shutdown(req: Request): number;
  close(callback?: () => void): void;
  ref(): void;
  unref(): void;
}

interface Binding {
  newHandle(): Handle;
  newConnectRequest(): Request;
  newWriteRequest(): Request;
  /** streamBaseState: what the last read or write call reported, beside its return value. */
  state: Int32Array;
  readBytesOrError: number;
  lastWriteWasAsync: number;
  eof: number;
}

/** Node majors whose pipe_wrap/stream_wrap bindings this file was written and tested against. */
const TESTED_NODE_MAJORS = new Set(['20']);

let binding: Binding | null | undefined;

function loadBinding(): Binding | null {
  if (binding !== undefined) return binding;
  binding = null;
  if (!TESTED_NODE_MAJORS.has(process.versions.node.split('.')[0]!)) return binding;
  const processBinding = (process as unknown as { binding?: (name: string) => Record<string, unknown> })
    .binding;
  if (typeof processBinding !== 'function') return binding;
  try {
    const pipe = processBinding('pipe_wrap') as {
      Pipe?: new (type: number) => Handle;
      PipeConnectWrap?: new () => Request;
      constants?: { SOCKET?: number };
    };
    const stream = processBinding('stream_wrap') as {
      WriteWrap?: new () => Request;
      streamBaseState?: Int32Array;
      kReadBytesOrError?: number;
      kLastWriteWasAsync?: number;
    };
    const uv = processBinding('uv') as { UV_EOF?: number };
    const { Pipe, PipeConnectWrap, constants } = pipe;
    const { WriteWrap, streamBaseState: state } = stream;
    if (
      typeof Pipe !== 'function' ||
      typeof (Pipe.prototype as Partial<Handle>).useUserBuffer !== 'function' ||
      typeof PipeConnectWrap !== 'function' ||
      typeof WriteWrap !== 'function' ||
      typeof constants?.SOCKET !== 'number' ||
      !(state instanceof Int32Array) ||
      typeof stream.kReadBytesOrError !== 'number' ||
      typeof stream.kLastWriteWasAsync !== 'number' ||
      typeof uv.UV_EOF !== 'number'
    )
      return binding;
    const socketType = constants.SOCKET;
    binding = {
      newHandle: () => new Pipe(socketType),
      newConnectRequest: () => new PipeConnectWrap(),
      newWriteRequest: () => new WriteWrap(),
      state,
      readBytesOrError: stream.kReadBytesOrError,
      lastWriteWasAsync: stream.kLastWriteWasAsync,
      eof: uv.UV_EOF,
    };
  } catch {
    binding = null;
  }
  return binding;
}

/** Whether this Node offers the pipe handle (else connectPipe always answers undefined). */
export function pipeSocketsAvailable(): boolean {
  return loadBinding() !== null;
}

/**
 * Connects to the UNIX socket at `address` (a leading NUL = Linux abstract socket). Resolves with the socket, or
 * rejects with an error carrying `code` ('ENOENT', 'ECONNREFUSED', ...) as net.Socket's would; resolves
 * undefined when this Node has no usable pipe handle.
 */
export function connectPipe(address: string): Promise<PipeSocket | undefined> {
  const b = loadBinding();
  if (!b) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const handle = b.newHandle();
    const req = b.newConnectRequest();
    const fail = (status: number) => {
      handle.close();
      reject(uvError(status, 'connect', address));
    };
    req.oncomplete = (status) => (status < 0 ? fail(status) : resolve(new PipeSocket(handle, b)));
    const status = handle.connect(req, address);
    if (status < 0) fail(status);
  });
}

/** The most one read takes from the kernel (what libuv asks Node for by default). */
const READ_BUFFER_SIZE = 64 * 1024;

/** Queued-but-unsent bytes above which write() answers false, as net.Socket's default highWaterMark. */
const HIGH_WATER_MARK = 16 * 1024;

/**
 * A connected pipe with the part of net.Socket's surface the RPC client uses (rpc/transport.ts): 'data',
 * 'end', 'error' and 'close' events; write() → false plus 'drain' for flow control; cork()/uncork() to gather
 * writes into one writev(); pause()/resume(); destroy(). Like net.Socket with allowHalfOpen false, the
 * daemon's EOF ends the connection: 'end', then 'close'.
 */
export class PipeSocket extends EventEmitter {
  private corks = 0;
  private corked: Buffer[] = [];
  private corkedBytes = 0;
  /** Bytes handed to libuv that it has not written yet. */
  private inFlight = 0;
  private needDrain = false;
  private reading = false;
  /** A 'data' listener exists: reading may start. */
  private listening = false;
  private paused = false;
  private destroyed = false;
  /**
   * Where libuv reads into: one buffer for the connection's life, where by default Node allocates 64 KiB for
   * every read and frees it after. What a read brought is copied out at once (onRead), so no byte stays here.
   */
  private readonly readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_SIZE);
  /** A write request no write is using (see send). */
  private spareRequest: Request | null = null;

  constructor(
    private readonly handle: Handle,
    private readonly b: Binding,
  ) {
    super();
    handle.onread = () => this.onRead();
    handle.useUserBuffer(this.readBuffer);
    // As net.Socket: bytes wait in the kernel until someone listens for them, however long the caller takes.
    this.on('newListener', (event: string) => {
      if (event !== 'data' || this.listening) return;
      this.listening = true;
      this.startReading();
    });
  }

  write(chunk: Buffer): boolean {
    if (this.destroyed) return false;
    if (this.corks > 0) {
      this.corked.push(chunk);
      this.corkedBytes += chunk.length;
    } else this.send([chunk]);
    return this.hasRoom();
  }

  cork(): void {
    this.corks++;
  }

  uncork(): void {
    if (this.corks === 0 || --this.corks > 0) return;
    const chunks = this.corked;
    this.corked = [];
    this.corkedBytes = 0;
    if (chunks.length > 0 && !this.destroyed) this.send(chunks);
  }

  pause(): this {
    this.paused = true;
    if (this.reading) {
      this.reading = false;
      this.handle.readStop();
    }
    return this;
  }

  resume(): this {
    this.paused = false;
    this.startReading();
    return this;
  }

  /** Closes the handle at once (unsent data is dropped, as with net.Socket#destroy); 'close' follows. */
  destroy(err?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.reading = false;
    this.corked = [];
    this.corkedBytes = 0;
    this.handle.close(() => {
      if (err) this.emit('error', err);
      this.emit('close', err !== undefined);
    });
    return this;
  }

  ref(): this {
    this.handle.ref();
    return this;
  }

  unref(): this {
    this.handle.unref();
    return this;
  }

  private hasRoom(): boolean {
    const room = this.inFlight + this.corkedBytes < HIGH_WATER_MARK;
    if (!room) this.needDrain = true;
    return room;
  }

  private startReading(): void {
    if (this.destroyed || this.paused || this.reading || !this.listening) return;
    const status = this.handle.readStart();
    if (status < 0) return void this.destroy(uvError(status, 'read'));
    this.reading = true;
  }

  // libuv tries the write at once; what the kernel did not take is finished later and reported through
  // req.oncomplete. The buffers stay referenced from the request until then.
  private send(chunks: Buffer[]): void {
    const { b } = this;
    // A write the kernel takes at once never touches its request object (libuv is not involved), so one object
    // serves every such write; one that goes asynchronous keeps its request, and the next write gets a new one.
    const req = (this.spareRequest ??= b.newWriteRequest());
    req.handle = this.handle;
    const status =
      chunks.length === 1 ? this.handle.writeBuffer(req, chunks[0]!) : this.handle.writev(req, chunks, true);
    if (status < 0) return void this.destroy(uvError(status, 'write'));
    if (b.state[b.lastWriteWasAsync] === 0) return;
    this.spareRequest = null;
    let bytes = 0;
    for (const c of chunks) bytes += c.length;
    this.inFlight += bytes;
    req.buffer = chunks;
    req.oncomplete = (done) => {
      this.inFlight -= bytes;
      if (this.destroyed) return;
      if (done < 0) return void this.destroy(uvError(done, 'write'));
      if (this.needDrain && this.inFlight + this.corkedBytes < HIGH_WATER_MARK) {
        this.needDrain = false;
        this.emit('drain');
      }
    };
  }

  private onRead(): void {
    const { b } = this;
    const nread = b.state[b.readBytesOrError]!;
    if (nread > 0) {
      if (this.destroyed) return;
      // A copy of its own for each read: the listener may keep it (the RPC client's packets are views into it),
      // and the read buffer is filled again by the next read.
      const chunk = Buffer.allocUnsafe(nread);
      this.readBuffer.copy(chunk, 0, 0, nread);
      this.emit('data', chunk);
      return;
    }
    if (nread === 0 || this.destroyed) return;
    this.reading = false;
    this.handle.readStop();
    if (nread !== b.eof) return void this.destroy(uvError(nread, 'read'));
    this.emit('end');
    this.destroy();
  }
}

/** A libuv status as net.Socket reports it: `connect ENOENT /path`, with code, errno, syscall (and address). */
function uvError(status: number, syscall: string, address?: string): Error & { code: string } {
  const code = getSystemErrorName(status);
  const where = address === undefined ? '' : ` ${address.replace(/\0/g, '@')}`;
  const err = Object.assign(new Error(`${syscall} ${code}${where}`), { code, errno: status, syscall });
  return address === undefined ? err : Object.assign(err, { address });
}
