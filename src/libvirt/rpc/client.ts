// RpcClient: libvirt's RPC over any transport the caller dialled (unix socket, ssh channel, test pair).
//
// - Each CALL gets the next serial; replies are matched through a serial → pending map, so any number of
//   calls may be in flight and answered in any order. A reply must also name the pending call's program and
//   procedure: one that does not means the daemon and we disagree about the stream, so that call and the
//   connection fail (nothing later on it can be trusted).
// - With `callTimeoutMs`, a call unanswered that long fails with CallTimeoutError (for remote daemons, which
//   can hang where a local one is restarted); the connection stays up and a late reply is dropped. Stream data
//   and events have no timeout: only the reply to a call does.
// - MESSAGE packets (events) are routed by (prog, proc) to subscribers, never by serial: the daemon
//   sends them with serial 1 (or 0), which can collide with a call's.
// - A serial that opened a stream stays routed to its LibvirtStream until the stream finishes.
// - When the transport closes or errors, or the byte stream breaks the framing, every pending call and
//   open stream fails at once with ConnectionClosedError; later calls fail immediately. Whatever order the
//   transport reports EOF, errors (also after close, also during a write) and close in, the failure happens
//   once and nothing is thrown into the transport's event handlers: a dead daemon never crashes the process.
// - Keepalive: PINGs from the daemon are answered with PONG. With `keepalive` set, the client also
//   probes: after each silent interval it sends a PING and gives up after `maxMissed` silent intervals.

import { CallTimeoutError, ConnectionClosedError, LibvirtError, ProtocolError } from '../errors.js';
import { remoteError } from '../types.js';
import { type Codec, decode } from '../xdr/index.js';
import { PacketFramer } from './framer.js';
import { KeepaliveProbe, keepalivePacket, type KeepaliveOptions } from './keepalive.js';
import {
  KeepaliveProc,
  MessageStatus,
  MessageType,
  type Packet,
  type PacketHeader,
  PROTOCOL_VERSION,
  Program,
  encodePacket,
} from './packet.js';
import type { Procedure } from './procedure.js';
import type { LibvirtStream } from './stream.js';
import { StreamTable } from './streams.js';
import type { Transport } from './transport.js';

export type { KeepaliveOptions };

export interface RpcClientOptions {
  keepalive?: KeepaliveOptions;
  /** Largest packet accepted from the daemon (default 4 + VIR_NET_MESSAGE_MAX). */
  maxPacket?: number;
  /** Fail a call with CallTimeoutError when its reply takes longer than this (ms). Default: no limit. */
  callTimeoutMs?: number;
}

export type EventHandler = (payload: Buffer, header: PacketHeader) => void;

interface Pending {
  prog: number;
  proc: number;
  /** Decodes the reply's payload; null: the caller takes the raw payload (a stream's opening call). */
  ret: Codec<unknown> | null;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | null;
}

export class RpcClient {
  private readonly framer: PacketFramer;
  private readonly pending = new Map<number, Pending>();
  private readonly streams: StreamTable;
  private readonly subscribers = new Map<string, Set<EventHandler>>();
  private readonly closeListeners = new Set<(err: ConnectionClosedError) => void>();
  private serial = 0;
  private closedWith: ConnectionClosedError | null = null;
  private transportError: Error | null = null;
  private keepalive: KeepaliveProbe | null = null;
  /** A write batch is open until the end of this tick (see writeCall). */
  private corked = false;

  private readonly callTimeoutMs: number;

  constructor(
    private readonly transport: Transport,
    options: RpcClientOptions = {},
  ) {
    this.framer = new PacketFramer(options.maxPacket);
    this.callTimeoutMs = options.callTimeoutMs ?? 0;
    this.streams = new StreamTable({
      transport,
      isClosed: () => this.closedWith !== null,
      guard: (op) => this.guardTransport(op),
    });
    transport.on('data', (chunk: Buffer) => this.onData(chunk));
    transport.on('error', (err: Error) => {
      this.transportError ??= err;
      this.fail(
        new ConnectionClosedError(`connection to the libvirt daemon failed: ${err.message}`, { cause: err }),
      );
    });
    // Only build an error (a stack trace each) when it will be used: after close() these events still fire.
    transport.on('end', () => {
      if (!this.closedWith) this.fail(new ConnectionClosedError('the libvirt daemon closed the connection'));
    });
    transport.on('close', () => {
      if (this.closedWith) return;
      this.fail(
        new ConnectionClosedError('connection to the libvirt daemon closed', {
          cause: this.transportError ?? undefined,
        }),
      );
    });
    if (options.keepalive) this.startKeepalive(options.keepalive);
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  /** Sends one CALL and resolves with its decoded reply, or rejects with LibvirtError / ConnectionClosedError. */
  call<A, R>(p: Procedure<A, R>, value: A): Promise<R> {
    // The reply is decoded where it arrives (onReply), not in a .then(): one promise and one microtask less
    // per call, which is a sequential caller's whole wait between two calls.
    return this.callRaw(p, value, p.ret) as Promise<R>;
  }

  /**
   * Sends a CALL that opens a stream (console, upload, download). The stream is routed from the moment
   * the call is written, so data arriving right behind the reply is never lost; it is handed out once
   * the daemon's REPLY/OK arrives.
   */
  async openStream<A, R>(p: Procedure<A, R>, value: A): Promise<LibvirtStream> {
    const mode = p.stream;
    if (!mode) throw new TypeError(`procedure ${p.proc} does not open a stream`);
    // stream.ts, and with it Node's stream machinery, loads with the first stream: most commands open none.
    const { LibvirtStream } = await import('./stream.js');
    let stream: LibvirtStream | null = null;
    // Until the caller holds the stream nobody listens to it; an error before then (the connection
    // dying under the opening call) must not become an unhandled 'error' event.
    const swallow = (): void => {};
    const reply = this.callRaw(p, value, null, (serial) => {
      stream = new LibvirtStream(this.streams.channel(p.prog, p.proc, serial), mode);
      stream.on('error', swallow);
      this.streams.add(serial, stream);
    });
    return reply.then(
      () => {
        const s = stream!;
        // Let a stream that already failed report it once the caller listens.
        process.nextTick(() => s.off('error', swallow));
        return s;
      },
      (err: Error) => {
        (stream as LibvirtStream | null)?.kill(null);
        throw err;
      },
    );
  }

  /** Subscribes to the MESSAGE packets of one event (its program and procedure). Returns the unsubscribe function. */
  subscribe(event: { prog: number; proc: number }, handler: EventHandler): () => void {
    const key = `${event.prog}:${event.proc}`;
    let set = this.subscribers.get(key);
    if (!set) this.subscribers.set(key, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0 && this.subscribers.get(key) === set) this.subscribers.delete(key);
    };
  }

  /** Called once when the connection closes, for whatever reason. Returns the unsubscribe function. */
  onClose(listener: (err: ConnectionClosedError) => void): () => void {
    if (this.closedWith) {
      listener(this.closedWith);
      return () => {};
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Closes the transport; pending calls fail with ConnectionClosedError. */
  close(): void {
    this.fail(new ConnectionClosedError('connection closed by the client'));
  }

  private callRaw<A>(
    { prog, proc, args }: Procedure<A, unknown>,
    value: A,
    ret: Codec<unknown> | null,
    beforeSend?: (serial: number) => void,
  ): Promise<unknown> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const serial = this.nextSerial();
    let bytes: Buffer;
    try {
      bytes = encodePacket(
        { prog, vers: PROTOCOL_VERSION, proc, type: MessageType.CALL, serial, status: MessageStatus.OK },
        (w) => args.encode(w, value),
      );
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise<unknown>((resolve, reject) => {
      const call: Pending = { prog, proc, ret, resolve, reject, timer: null };
      if (this.callTimeoutMs > 0) call.timer = this.startCallTimer(serial, call);
      const others = this.pending.size > 0 || this.corked;
      this.pending.set(serial, call);
      beforeSend?.(serial);
      this.writeCall(bytes, others);
    });
  }

  private startCallTimer(serial: number, call: Pending): NodeJS.Timeout {
    const timer = setTimeout(() => {
      if (this.pending.get(serial) !== call) return;
      this.pending.delete(serial);
      const seconds = this.callTimeoutMs / 1000;
      const err = new CallTimeoutError(
        `the libvirt daemon did not answer procedure ${call.proc} within ${seconds} s: it may be hung or ` +
          'overloaded; the call may still complete there (check its effect before retrying), or raise the ' +
          "connection's callTimeoutMs",
        this.callTimeoutMs,
      );
      // A stream whose opening call timed out is abandoned: tell the daemon, stop routing its serial.
      this.streams.get(serial)?.abort(err);
      call.reject(err);
    }, this.callTimeoutMs);
    // The socket keeps the process alive while a call is pending; the timer alone must not.
    timer.unref();
    return timer;
  }

  /**
   * Writes a CALL. One made while others wait (`others`) joins a batch that gathers every call made in the same
   * tick into one writev(): with many calls in flight, replies arrive in bursts and each one's continuation sends
   * the next call, so a burst of replies becomes one write instead of one syscall (and one daemon wake-up) per
   * call, which raises pipelined throughput (BENCHMARKS.md). A call made when no other waits (a sequential
   * caller) goes out at once: waiting for the tick's end would only delay it, and the batch costs CPU.
   */
  private writeCall(bytes: Buffer, others: boolean): void {
    // try/catch written out rather than guardTransport(() => ...): this runs for every call, and a closure
    // per write is garbage per call.
    try {
      if (others && !this.corked) {
        this.corked = true;
        this.transport.cork();
        process.nextTick(this.uncorkAtTickEnd);
      }
      this.transport.write(bytes);
    } catch (cause) {
      this.writeFailed(cause as Error);
    }
  }

  /** Ends the write batch writeCall opened (made once: process.nextTick takes it for every batch). */
  private readonly uncorkAtTickEnd = (): void => {
    this.corked = false;
    if (!this.closedWith) this.guardTransport(() => this.transport.uncork());
  };

  /**
   * Runs a transport operation that may throw at once (a write on a stream that just died, a transport of the
   * caller's making): the throw becomes the connection's failure instead of escaping into a caller that only
   * expects a promise, or into an event handler.
   */
  private guardTransport(op: () => unknown): void {
    try {
      op();
    } catch (cause) {
      this.writeFailed(cause as Error);
    }
  }

  private writeFailed(cause: Error): void {
    this.transportError ??= cause;
    this.fail(new ConnectionClosedError(`writing to the libvirt daemon failed: ${cause.message}`, { cause }));
  }

  private nextSerial(): number {
    do {
      this.serial = (this.serial + 1) >>> 0;
    } while (this.serial === 0 || this.pending.has(this.serial) || this.streams.has(this.serial));
    return this.serial;
  }

  private onData(chunk: Buffer): void {
    if (this.closedWith) return;
    let packets: Packet[];
    try {
      packets = this.framer.push(chunk);
    } catch (cause) {
      this.fail(new ConnectionClosedError('the libvirt daemon sent malformed data', { cause }));
      return;
    }
    this.keepalive?.heardFrom();
    for (const p of packets) {
      if (this.closedWith) return;
      this.route(p);
    }
  }

  private route({ header, payload }: Packet): void {
    if (header.vers !== PROTOCOL_VERSION) {
      const cause = new ProtocolError('PROTOCOL_BAD_HEADER', `unknown protocol version ${header.vers}`);
      this.fail(new ConnectionClosedError('the libvirt daemon sent malformed data', { cause }));
      return;
    }
    if (header.prog === Program.KEEPALIVE) {
      if (header.type === MessageType.MESSAGE && header.proc === KeepaliveProc.PING) {
        this.sendKeepalive(KeepaliveProc.PONG);
      }
      return;
    }
    switch (header.type) {
      case MessageType.REPLY:
        return this.onReply(header, payload);
      case MessageType.STREAM:
        this.streams.get(header.serial)?.handlePacket(header.status, payload);
        return;
      case MessageType.MESSAGE:
        return this.onMessage(header, payload);
      default:
        return; // CALLs from the daemon, *_WITH_FDS, STREAM_HOLE: nothing of ours; ignore.
    }
  }

  private onReply(header: PacketHeader, payload: Buffer): void {
    const call = this.pending.get(header.serial);
    // No such call (any more: it may have timed out): nothing to deliver to.
    if (!call) return;
    this.pending.delete(header.serial);
    if (call.timer) clearTimeout(call.timer);
    if (header.prog !== call.prog || header.proc !== call.proc) {
      const err = new ProtocolError(
        'PROTOCOL_UNEXPECTED_REPLY',
        `the libvirt daemon answered call ${header.serial} (program ${call.prog}, procedure ${call.proc}) ` +
          `with a reply for program ${header.prog}, procedure ${header.proc}`,
      );
      call.reject(err);
      this.fail(new ConnectionClosedError('the libvirt daemon sent a reply out of step', { cause: err }));
      return;
    }
    if (header.status === MessageStatus.OK) {
      if (call.ret === null) return call.resolve(payload);
      let value: unknown;
      try {
        value = decodePayload(call.ret, payload, header.proc);
      } catch (err) {
        return call.reject(err as Error);
      }
      call.resolve(value);
      return;
    }
    let err: Error;
    try {
      err = new LibvirtError(decode(remoteError, payload));
    } catch (cause) {
      err = new ProtocolError('PROTOCOL_DECODE', `undecodable error reply to procedure ${header.proc}`, {
        cause,
      });
    }
    call.reject(err);
  }

  private onMessage(header: PacketHeader, payload: Buffer): void {
    const handlers = this.subscribers.get(`${header.prog}:${header.proc}`);
    if (!handlers) return;
    for (const h of [...handlers]) {
      try {
        h(payload, header);
      } catch {
        // A subscriber's bug must not take the connection down; subscribers handle their own errors.
      }
    }
  }

  private startKeepalive(options: KeepaliveOptions): void {
    this.keepalive = new KeepaliveProbe(options, {
      excused: () => this.streams.anyPaused,
      ping: () => this.sendKeepalive(KeepaliveProc.PING),
      dead: () =>
        this.fail(
          new ConnectionClosedError(`the libvirt daemon did not answer ${options.maxMissed} keepalive pings`),
        ),
    });
  }

  private sendKeepalive(proc: (typeof KeepaliveProc)[keyof typeof KeepaliveProc]): void {
    if (this.closedWith) return;
    this.guardTransport(() => this.transport.write(keepalivePacket(proc)));
  }

  private fail(err: ConnectionClosedError): void {
    if (this.closedWith) return;
    this.closedWith = err;
    this.keepalive?.stop();
    const calls = [...this.pending.values()];
    this.pending.clear();
    const streams = this.streams.takeAll();
    for (const c of calls) {
      if (c.timer) clearTimeout(c.timer);
      c.reject(err);
    }
    for (const s of streams) s.kill(err);
    this.subscribers.clear();
    try {
      this.transport.destroy();
    } catch {
      // Already broken: there is nothing left to close.
    }
    const listeners = [...this.closeListeners];
    this.closeListeners.clear();
    for (const l of listeners) {
      try {
        l(err);
      } catch {
        // A listener's bug must not escape into the transport's event handler (an uncaught exception).
      }
    }
  }
}

function decodePayload<R>(codec: Codec<R>, payload: Buffer, proc: number): R {
  try {
    return decode(codec, payload);
  } catch (cause) {
    throw new ProtocolError('PROTOCOL_DECODE', `undecodable reply to procedure ${proc}`, { cause });
  }
}
