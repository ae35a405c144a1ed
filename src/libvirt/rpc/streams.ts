// The data streams open on one connection: which serial each one owns, which of them hold the socket paused,
// and the channel through which a LibvirtStream writes its STREAM packets (stream.ts).

import { MessageType, type PacketHeader, PROTOCOL_VERSION, encodePacketPrefix } from './packet.js';
import type { LibvirtStream, StreamChannel } from './stream.js';
import type { Transport } from './transport.js';

/** What a channel needs of the connection it writes to (RpcClient). */
export interface ChannelOwner {
  readonly transport: Transport;
  /** True once the connection failed or closed: writes are dropped and nobody waits for a 'drain'. */
  isClosed(): boolean;
  /** Runs a transport operation; a throw becomes the connection's failure (RpcClient.guardTransport). */
  guard(op: () => unknown): void;
}

/** Streams by serial. While any of them is paused by its reader, the socket is paused (backpressure). */
export class StreamTable {
  private readonly bySerial = new Map<number, LibvirtStream>();
  private readonly pausedBy = new Set<LibvirtStream>();

  constructor(private readonly owner: ChannelOwner) {}

  add(serial: number, stream: LibvirtStream): void {
    this.bySerial.set(serial, stream);
  }
  get(serial: number): LibvirtStream | undefined {
    return this.bySerial.get(serial);
  }
  has(serial: number): boolean {
    return this.bySerial.has(serial);
  }
  /** True while a slow reader holds the socket paused: silence on it then proves nothing. */
  get anyPaused(): boolean {
    return this.pausedBy.size > 0;
  }

  /** Forgets every stream (the connection is gone) and returns them, to be killed. */
  takeAll(): LibvirtStream[] {
    const all = [...this.bySerial.values()];
    this.bySerial.clear();
    this.pausedBy.clear();
    return all;
  }

  /** The channel for the stream of `serial`, opened by procedure (prog, proc). */
  channel(prog: number, proc: number, serial: number): StreamChannel {
    const { owner } = this;
    const header = (status: number): PacketHeader => ({
      prog,
      vers: PROTOCOL_VERSION,
      proc,
      type: MessageType.STREAM,
      serial,
      status,
    });
    return {
      send: (status, payload) => writeStreamPacket(owner, header(status), payload),
      onDrain: (cb) => {
        if (owner.isClosed()) cb();
        else owner.transport.once('drain', cb);
      },
      pauseInput: () => this.pause(serial),
      resumeInput: () => this.resume(serial),
      release: () => this.release(serial),
    };
  }

  private pause(serial: number): void {
    const stream = this.bySerial.get(serial);
    if (!stream) return;
    this.pausedBy.add(stream);
    this.owner.transport.pause();
  }

  private resume(serial: number): void {
    const stream = this.bySerial.get(serial);
    if (stream) this.pausedBy.delete(stream);
    if (this.pausedBy.size === 0) this.owner.transport.resume();
  }

  private release(serial: number): void {
    const stream = this.bySerial.get(serial);
    if (!stream) return;
    this.bySerial.delete(serial);
    if (this.pausedBy.delete(stream) && this.pausedBy.size === 0) this.owner.transport.resume();
  }
}

/** Writes one STREAM packet; false when the writer should wait for 'drain'. */
function writeStreamPacket(owner: ChannelOwner, header: PacketHeader, payload?: Buffer): boolean {
  if (owner.isClosed()) return true;
  const { transport } = owner;
  const length = payload?.length ?? 0;
  let room = true;
  owner.guard(() => {
    if (length === 0) {
      room = transport.write(encodePacketPrefix(header, 0));
      return;
    }
    // Header and data as two writes: no copy of the data into a new buffer.
    transport.cork();
    transport.write(encodePacketPrefix(header, length));
    room = transport.write(payload!);
    process.nextTick(() => {
      if (!owner.isClosed()) owner.guard(() => transport.uncork());
    });
  });
  // After a failed write the stream is being killed: its writer must not wait for a 'drain'.
  return room || owner.isClosed();
}
