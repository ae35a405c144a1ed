// A read cursor over one XDR-encoded buffer (RFC 4506: big-endian, every item padded to 4 bytes).
// It knows bytes, not meaning: libvirt structures are built on top of it in codec.ts.
// Every read checks the bytes left first, so a hostile or truncated payload fails with an XdrError
// instead of reading past the end or allocating what a length field merely claims.

export type XdrErrorCode =
  | 'XDR_SHORT' // fewer bytes left than the item needs
  | 'XDR_LIMIT' // a length or count above the declared maximum
  | 'XDR_BAD_BOOL' // a bool that is neither 0 nor 1
  | 'XDR_BAD_UNION' // a union discriminant with no arm
  | 'XDR_TRAILING' // bytes left over after the whole value was read
  | 'XDR_RANGE'; // (encoding) a number that does not fit its XDR type

export class XdrError extends Error {
  override readonly name = 'XdrError';
  readonly code: XdrErrorCode;

  constructor(code: XdrErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Bytes needed to pad `n` up to a multiple of 4. */
export function padding(n: number): number {
  return (4 - (n & 3)) & 3;
}

/** Strings up to this many bytes may take the ASCII path of string(). */
const SHORT_STRING = 32;

export class XdrReader {
  private pos: number;
  private readonly end: number;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  int32(): number {
    this.need(4, 'int');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    this.need(4, 'unsigned int');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  hyper(): bigint {
    this.need(8, 'hyper');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  uhyper(): bigint {
    this.need(8, 'unsigned hyper');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  double(): number {
    this.need(8, 'double');
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  bool(): boolean {
    const v = this.int32();
    if (v === 0) return false;
    if (v === 1) return true;
    throw new XdrError('XDR_BAD_BOOL', `bool must be 0 or 1, got ${v}`);
  }

  /** UTF-8 string with a u32 length prefix; `max` is the declared bound in bytes. */
  string(max: number): string {
    const len = this.length(max, 'string');
    const s = this.shortAscii(len) ?? this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len + padding(len);
    return s;
  }

  /** opaque[n]: exactly n bytes, padded. Returns a copy, so callers may keep it past the packet. */
  opaqueFixed(n: number): Buffer {
    this.need(n + padding(n), `opaque[${n}]`);
    const out = this.copy(n);
    this.pos += n + padding(n);
    return out;
  }

  /** opaque<max>: u32 length, bytes, padding. Returns a copy. */
  opaque(max: number): Buffer {
    const len = this.length(max, 'opaque');
    const out = this.copy(len);
    this.pos += len + padding(len);
    return out;
  }

  /**
   * Element count of a variable array. Besides the declared maximum it checks that the count could fit
   * in the bytes left (every libvirt array element takes at least 4 bytes), so a forged count of
   * millions in a short packet fails here instead of after millions of allocations.
   */
  count(max: number, minElementSize = 4): number {
    const n = this.uint32();
    if (n > max) throw new XdrError('XDR_LIMIT', `array of ${n} elements exceeds its maximum of ${max}`);
    if (n * minElementSize > this.remaining) {
      throw new XdrError('XDR_SHORT', `array of ${n} elements cannot fit in ${this.remaining} bytes`);
    }
    return n;
  }

  /** Fails unless every byte was consumed: trailing bytes mean the codec and the peer disagree. */
  done(): void {
    if (this.pos !== this.end) {
      throw new XdrError('XDR_TRAILING', `${this.end - this.pos} bytes left after decoding`);
    }
  }

  /**
   * The next n bytes (already checked to be there) as a string when they are few and all ASCII, else null:
   * for a name, building it here costs less than a trip to Node's UTF-8 decoder.
   */
  private shortAscii(n: number): string | null {
    if (n > SHORT_STRING) return null;
    const { buf, pos } = this;
    let s = '';
    for (let i = 0; i < n; i++) {
      const c = buf[pos + i]!;
      if (c > 0x7f) return null;
      s += String.fromCharCode(c);
    }
    return s;
  }

  /** The next n bytes (already checked to be there), copied. */
  private copy(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    this.buf.copy(out, 0, this.pos, this.pos + n);
    return out;
  }

  private length(max: number, what: string): number {
    const len = this.uint32();
    if (len > max) throw new XdrError('XDR_LIMIT', `${what} of ${len} bytes exceeds its maximum of ${max}`);
    this.need(len + padding(len), what);
    return len;
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      throw new XdrError('XDR_SHORT', `${what} needs ${n} bytes, ${this.end - this.pos} left`);
    }
  }
}
