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
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: Packet[] = [];
    while (this.buffered >= LENGTH_SIZE) {
      const length = this.peekLength();
      if (length < MIN_PACKET || length > this.maxPacket) {
        this.failed = new ProtocolError(
          'PROTOCOL_BAD_LENGTH',
          `packet length ${length} outside ${MIN_PACKET}…${this.maxPacket}`,
        );
        this.chunks = [];
        this.buffered = 0;
        throw this.failed;
      }
      if (this.buffered < length) break;
      const bytes = this.take(length);
      out.push({ header: decodeHeader(bytes), payload: bytes.subarray(MIN_PACKET) });
    }
    return out;
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
