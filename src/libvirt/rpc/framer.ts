// Cuts a byte stream into packets. Chunks may split a packet anywhere (even inside the length word);
// the framer keeps the pieces until a packet is whole. A length outside the protocol's bounds is
// rejected as soon as its 4 bytes are in, so memory held never exceeds one maximal packet plus the
// chunk being pushed. After an error the stream is out of sync and the framer refuses further input.

import { ProtocolError } from '../errors.js';
import { LENGTH_SIZE, MAX_PACKET, MIN_PACKET, type Packet, decodeHeader } from './packet.js';

export class PacketFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: ProtocolError | null = null;

  constructor(private readonly maxPacket = MAX_PACKET) {}

  /** Bytes held for a packet not yet complete. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Adds a chunk and returns every packet it completes, in order. Throws ProtocolError on bad framing. */
  push(chunk: Buffer): Packet[] {
    if (this.failed) throw this.failed;
    const out: Packet[] = [];
    // The usual case, nothing held back: packets are cut out of the chunk where they lie, the header read in
    // place, and only what is left of an incomplete one is kept.
    let start = 0;
    if (this.buffered === 0) {
      while (chunk.length - start >= LENGTH_SIZE) {
        const length = this.checkLength(chunk.readUInt32BE(start));
        if (chunk.length - start < length) break;
        out.push({
          header: decodeHeader(chunk, start + LENGTH_SIZE),
          payload: chunk.subarray(start + MIN_PACKET, start + length),
        });
        start += length;
      }
      if (start === chunk.length) return out;
      chunk = start === 0 ? chunk : chunk.subarray(start);
    }
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    while (this.buffered >= LENGTH_SIZE) {
      const length = this.checkLength(this.peekLength());
      if (this.buffered < length) break;
      const bytes = this.take(length);
      out.push({ header: decodeHeader(bytes), payload: bytes.subarray(MIN_PACKET) });
    }
    return out;
  }

  /** A packet's length word, or ProtocolError (and no more input) when it is outside the protocol's bounds. */
  private checkLength(length: number): number {
    if (length >= MIN_PACKET && length <= this.maxPacket) return length;
    this.failed = new ProtocolError(
      'PROTOCOL_BAD_LENGTH',
      `packet length ${length} outside ${MIN_PACKET}…${this.maxPacket}`,
    );
    this.chunks = [];
    this.buffered = 0;
    throw this.failed;
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= LENGTH_SIZE) return first.readUInt32BE(0);
    // The length word itself is split across chunks: gather its 4 bytes.
    const word = Buffer.alloc(LENGTH_SIZE);
    let filled = 0;
    for (const c of this.chunks) {
      filled += c.copy(word, filled, 0, LENGTH_SIZE - filled);
      if (filled === LENGTH_SIZE) break;
    }
    return word.readUInt32BE(0);
  }

  /** Removes `n` bytes from the front; zero-copy when they sit in the first chunk. */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    this.buffered -= n;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const used = c.copy(out, filled, 0, n - filled);
      filled += used;
      if (used === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(used);
    }
    return out;
  }
}
