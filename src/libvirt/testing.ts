// Test support for the libvirt client: an in-memory duplex pair and a scripted fake daemon that speaks
// the wire protocol. Used by the unit tests beside the code; not part of roost's public API.

import { Duplex } from 'node:stream';
import { PacketFramer } from './rpc/framer.js';
import {
  MessageStatus,
  MessageType,
  type Packet,
  type PacketHeader,
  PROTOCOL_VERSION,
  Program,
  encodePacketPrefix,
} from './rpc/packet.js';
import { type RemoteError, remoteError } from './types.js';
import { type Codec, encode } from './xdr/index.js';

class PairEnd extends Duplex {
  peer!: PairEnd;

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.peer.push(chunk);
    cb();
  }

  override _read(): void {}

  override _final(cb: (err?: Error | null) => void): void {
    this.peer.push(null);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.destroy();
    cb(err);
  }
}

/** Two connected in-memory ends: bytes written to one are read from the other. */
export function duplexPair(opts: { highWaterMark?: number } = {}): [Duplex, Duplex] {
  const a = new PairEnd({ highWaterMark: opts.highWaterMark });
  const b = new PairEnd({ highWaterMark: opts.highWaterMark });
  a.peer = b;
  b.peer = a;
  return [a, b];
}

export function header(
  h: Partial<PacketHeader> & Pick<PacketHeader, 'proc' | 'type' | 'serial'>,
): PacketHeader {
  return { prog: Program.REMOTE, vers: PROTOCOL_VERSION, status: MessageStatus.OK, ...h };
}

/** A packet with a raw payload (not padded: stream data is raw bytes). */
export function packet(h: PacketHeader, payload: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([encodePacketPrefix(h, payload.length), payload]);
}

export function replyOk<T>(call: PacketHeader, codec: Codec<T>, value: T): Buffer {
  return packet({ ...call, type: MessageType.REPLY, status: MessageStatus.OK }, encode(codec, value));
}

export function errorValue(code: number, message: string, domain = 10): RemoteError {
  return {
    code,
    domain,
    message,
    level: 2,
    dom: null,
    str1: message,
    str2: null,
    str3: null,
    int1: -1,
    int2: -1,
    net: null,
  };
}

export function replyError(call: PacketHeader, err: RemoteError): Buffer {
  return packet({ ...call, type: MessageType.REPLY, status: MessageStatus.ERROR }, encode(remoteError, err));
}

export function streamPacket(call: PacketHeader, status: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  return packet({ ...call, type: MessageType.STREAM, status }, payload);
}

/**
 * The daemon's end of a duplex pair: parses what the client writes and lets a test answer it.
 * `handler`, when set, is called for every packet received (to answer calls automatically).
 */
export class FakeDaemon {
  readonly received: Packet[] = [];
  handler: ((p: Packet, d: FakeDaemon) => void) | null = null;
  private readonly framer = new PacketFramer();
  private waiters: ((p: Packet) => void)[] = [];
  private cursor = 0;

  constructor(readonly socket: Duplex) {
    socket.on('data', (chunk: Buffer) => {
      for (const p of this.framer.push(chunk)) {
        // Copy the payload: the chunk it points into belongs to the transport.
        const copy = { header: p.header, payload: Buffer.from(p.payload) };
        this.received.push(copy);
        this.handler?.(copy, this);
        const w = this.waiters.shift();
        if (w) {
          this.cursor++;
          w(copy);
        }
      }
    });
    socket.on('error', () => {});
  }

  /** The next packet the client sends that no earlier next() returned. */
  next(): Promise<Packet> {
    if (this.cursor < this.received.length) return Promise.resolve(this.received[this.cursor++]!);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }
}
