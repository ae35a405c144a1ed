// A write cursor that produces XDR bytes into one growing buffer. It doubles its capacity when full,
// so encoding a packet is amortised O(size) with a handful of allocations; `finish()` hands out a view
// of the bytes written, not a copy.

import { XdrError, padding } from './reader.js';

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;
const HYPER_MIN = -(2n ** 63n);
const HYPER_MAX = 2n ** 63n - 1n;
const UHYPER_MAX = 2n ** 64n - 1n;
const ZEROES = Buffer.alloc(4);
/** Strings up to this many characters may take the ASCII path of string(). */
const SHORT_STRING = 64;

export class XdrWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialSize));
  }

  get length(): number {
    return this.pos;
  }

  int32(v: number): void {
    if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) throw range('int', v);
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
  }

  uint32(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > UINT32_MAX) throw range('unsigned int', v);
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v, this.pos);
  }

  hyper(v: bigint): void {
    if (typeof v !== 'bigint' || v < HYPER_MIN || v > HYPER_MAX) throw range('hyper', v);
    this.ensure(8);
    this.pos = this.buf.writeBigInt64BE(v, this.pos);
  }

  uhyper(v: bigint): void {
    if (typeof v !== 'bigint' || v < 0n || v > UHYPER_MAX) throw range('unsigned hyper', v);
    this.ensure(8);
    this.pos = this.buf.writeBigUInt64BE(v, this.pos);
  }

  double(v: number): void {
    if (typeof v !== 'number') throw range('double', v);
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(v, this.pos);
  }

  bool(v: boolean): void {
    this.int32(v ? 1 : 0);
  }

  string(s: string, max: number): void {
    if (typeof s !== 'string') throw range('string', s);
    if (this.shortAscii(s, max)) return;
    const len = Buffer.byteLength(s, 'utf8');
    if (len > max) throw new XdrError('XDR_LIMIT', `string of ${len} bytes exceeds its maximum of ${max}`);
    this.uint32(len);
    this.ensure(len + 4);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
    this.pad(len);
  }

  opaqueFixed(b: Uint8Array, n: number): void {
    if (!(b instanceof Uint8Array) || b.length !== n) {
      throw new XdrError('XDR_RANGE', `opaque[${n}] needs exactly ${n} bytes, got ${describe(b)}`);
    }
    this.raw(b);
    this.pad(n);
  }

  opaque(b: Uint8Array, max: number): void {
    if (!(b instanceof Uint8Array)) throw range('opaque', b);
    if (b.length > max) {
      throw new XdrError('XDR_LIMIT', `opaque of ${b.length} bytes exceeds its maximum of ${max}`);
    }
    this.uint32(b.length);
    this.raw(b);
    this.pad(b.length);
  }

  /**
   * Writes a short all-ASCII string (a name, a URI: most strings a call carries) byte by byte, and answers false,
   * having moved nothing, for any other: the general path asks Node's C++ side twice (byte length, then the
   * write), which costs more than the copy for a few bytes.
   */
  private shortAscii(s: string, max: number): boolean {
    const n = s.length;
    if (n > SHORT_STRING || n > max) return false;
    this.ensure(4 + n + 3);
    const { buf } = this;
    const start = this.pos + 4;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) return false;
      buf[start + i] = c;
    }
    buf.writeUInt32BE(n, this.pos);
    this.pos = start + n;
    this.pad(n);
    return true;
  }

  /** Overwrites a u32 already written (a packet's length, known only at the end). */
  patchUint32(offset: number, v: number): void {
    this.buf.writeUInt32BE(v, offset);
  }

  /** The bytes written so far, as a view of the internal buffer. Don't write after calling it. */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  private pad(n: number): void {
    const p = padding(n);
    if (p === 0) return;
    this.ensure(p);
    this.buf.set(ZEROES.subarray(0, p), this.pos);
    this.pos += p;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

function range(type: string, v: unknown): XdrError {
  return new XdrError('XDR_RANGE', `${describe(v)} is not a valid XDR ${type}`);
}

function describe(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === 'string') return `string(${v.length})`;
  return String(v);
}
