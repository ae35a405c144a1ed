// A libvirt data stream (console, volume upload/download) as a Node Duplex.
//
// Wire rules (docs/protocol.md, Streams): every packet reuses the opening call's serial with type STREAM.
// Data is STREAM/CONTINUE with raw bytes; the peer's end of data is an *empty* CONTINUE. Finishing is
// a STREAM/OK answered by the daemon's STREAM/OK (or STREAM/ERROR carrying a remote_error); an empty
// STREAM/ERROR from us aborts.
//
// Flow control: libvirt has none for the receiving side other than not reading the socket. When a
// consumer stops reading (push() says the buffer is full) the stream asks the client to pause the
// whole connection, and resumes it on the next _read(). That bounds memory at the cost of
// head-of-line blocking: other calls on the same connection wait while a stream's reader is slow.
// Sending respects the socket's own backpressure ('drain') and cuts data into chunks of at most
// STREAM_CHUNK_MAX bytes.

import { Duplex, type DuplexOptions } from 'node:stream';
import { LibvirtError, ProtocolError, StreamClosedError } from '../errors.js';
import { remoteError } from '../types.js';
import { decode } from '../xdr/index.js';
import { MessageStatus } from './packet.js';

/** libvirt's VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX: the daemon's own data chunk size (< 256 KiB). */
export const STREAM_CHUNK_MAX = 262120;

export type StreamMode = 'read' | 'write' | 'both';

/** What a stream needs from the connection, bound to the stream's serial. */
export interface StreamChannel {
  /** Writes one STREAM packet. Returns false when the socket buffer is full (then wait for onDrain). */
  send(status: number, payload?: Buffer): boolean;
  onDrain(cb: () => void): void;
  pauseInput(): void;
  resumeInput(): void;
  /** The stream is over: stop routing its serial. */
  release(): void;
}

export class LibvirtStream extends Duplex {
  /** We sent STREAM/OK and wait for the daemon's. */
  private finishing = false;
  /** The finish handshake is complete, the stream was aborted, or the connection died. */
  private done = false;
  private inputPaused = false;
  private finalCallback: ((err?: Error | null) => void) | null = null;

  constructor(
    private readonly channel: StreamChannel,
    readonly mode: StreamMode,
  ) {
    // Node honours `readable: false` / `writable: false` (a one-way Duplex); @types/node omits them.
    const options: DuplexOptions & { readable: boolean; writable: boolean } = {
      readable: mode !== 'write',
      writable: mode !== 'read',
      highWaterMark: 4 * STREAM_CHUNK_MAX,
    };
    super(options);
  }

  /** Aborts the transfer: tells the daemon (empty STREAM/ERROR) and destroys the stream. */
  abort(reason?: Error): void {
    this.destroy(reason);
  }

  /** Called by the RPC client for each STREAM packet on this serial. */
  handlePacket(status: number, payload: Buffer): void {
    if (this.done) return;
    if (status === MessageStatus.CONTINUE) {
      if (payload.length > 0) {
        if (this.mode === 'write') return; // an upload has nothing to read; ignore stray data
        if (!this.push(Buffer.from(payload)) && !this.inputPaused) {
          this.inputPaused = true;
          this.channel.pauseInput();
        }
        return;
      }
      // Empty CONTINUE: the daemon has no more data (download complete, console hung up).
      if (this.mode !== 'write') this.push(null);
      this.startFinish();
      return;
    }
    if (status === MessageStatus.OK) {
      this.complete(null);
      return;
    }
    if (status === MessageStatus.ERROR) {
      this.complete(streamError(payload));
      return;
    }
  }

  /** Called by the RPC client when the connection dies or the opening call failed: no more wire traffic. */
  kill(err: Error | null): void {
    if (this.done) return;
    this.done = true;
    this.channel.release();
    this.flushFinal(err ?? new StreamClosedError('libvirt stream closed'));
    this.destroy(err ?? undefined);
  }

  override _read(): void {
    if (this.inputPaused) {
      this.inputPaused = false;
      this.channel.resumeInput();
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.done || this.finishing) {
      cb(new StreamClosedError());
      return;
    }
    let room = true;
    for (let off = 0; off < chunk.length; off += STREAM_CHUNK_MAX) {
      room = this.channel.send(MessageStatus.CONTINUE, chunk.subarray(off, off + STREAM_CHUNK_MAX));
    }
    if (room) cb();
    else this.channel.onDrain(() => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.done) {
      cb();
      return;
    }
    this.finalCallback = cb;
    this.startFinish();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.inputPaused) {
      this.inputPaused = false;
      this.channel.resumeInput();
    }
    if (!this.done) {
      this.done = true;
      // Destroyed mid-transfer: abort on the wire so the daemon frees its side. Once our STREAM/OK is
      // out (e.g. a for-await loop that read to the end destroys the stream) there is nothing to abort;
      // the daemon's answering OK will find no route and be dropped.
      if (!this.finishing) this.channel.send(MessageStatus.ERROR);
      this.channel.release();
      this.flushFinal(err ?? new StreamClosedError('libvirt stream aborted'));
    }
    cb(err);
  }

  private startFinish(): void {
    if (this.finishing || this.done) return;
    this.finishing = true;
    this.channel.send(MessageStatus.OK);
  }

  /** The daemon answered the finish (OK) or failed the stream (ERROR). */
  private complete(err: Error | null): void {
    this.done = true;
    this.channel.release();
    if (err) {
      this.flushFinal(err);
      this.destroy(err);
      return;
    }
    if (this.mode !== 'write') this.push(null);
    this.flushFinal(null);
    // A console whose peer hung up is over in both directions: end our side too.
    if (this.mode === 'both' && !this.writableEnded) this.end();
  }

  private flushFinal(err: Error | null): void {
    const cb = this.finalCallback;
    this.finalCallback = null;
    cb?.(err);
  }
}

function streamError(payload: Buffer): Error {
  if (payload.length === 0) return new StreamClosedError('libvirt stream aborted by the daemon');
  try {
    return new LibvirtError(decode(remoteError, payload));
  } catch (cause) {
    return new ProtocolError('PROTOCOL_DECODE', 'undecodable stream error from the daemon', { cause });
  }
}
