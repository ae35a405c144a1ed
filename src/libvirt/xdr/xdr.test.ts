import { describe, expect, it } from 'vitest';
import {
  type Codec,
  XdrError,
  XdrReader,
  XdrWriter,
  array,
  bool,
  decode,
  double,
  empty,
  encode,
  hyper,
  int,
  opaque,
  opaqueFixed,
  optString,
  optional,
  string,
  struct,
  uhyper,
  uint,
  union,
} from './index.js';

function roundTrip<T>(codec: Codec<T>, value: T, expectedLength?: number): Buffer {
  const bytes = encode(codec, value);
  expect(bytes.length % 4).toBe(0);
  if (expectedLength !== undefined) expect(bytes.length).toBe(expectedLength);
  expect(decode(codec, bytes)).toEqual(value);
  return bytes;
}

function xdrCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(XdrError);
    return (err as XdrError).code;
  }
  throw new Error('expected an XdrError');
}

describe('XDR primitives', () => {
  it('round-trips int and uint at their edges, big-endian', () => {
    for (const v of [0, 1, -1, 0x7fffffff, -0x80000000]) roundTrip(int, v, 4);
    for (const v of [0, 1, 0xffffffff]) roundTrip(uint, v, 4);
    expect(encode(int, -2).toString('hex')).toBe('fffffffe');
    expect(encode(uint, 0x01020304).toString('hex')).toBe('01020304');
  });

  it('round-trips hyper and unsigned hyper as bigint', () => {
    for (const v of [0n, -1n, 2n ** 63n - 1n, -(2n ** 63n)]) roundTrip(hyper, v, 8);
    for (const v of [0n, 2n ** 64n - 1n, 11003000n]) roundTrip(uhyper, v, 8);
    expect(encode(uhyper, 1n).toString('hex')).toBe('0000000000000001');
  });

  it('round-trips bool and double', () => {
    roundTrip(bool, true, 4);
    roundTrip(bool, false, 4);
    for (const v of [0, 1.5, -3.25e10, Number.MAX_VALUE]) roundTrip(double, v, 8);
  });

  it('pads strings and opaques to 4 bytes with zeroes', () => {
    expect(encode(string(), 'abc').toString('hex')).toBe('0000000361626300');
    expect(encode(string(), 'abcd').toString('hex')).toBe('0000000461626364');
    expect(encode(string(), '').toString('hex')).toBe('00000000');
    roundTrip(string(), 'héllo wörld ✓');
    roundTrip(opaque(100), Buffer.from([1, 2, 3, 4, 5]), 12);
    roundTrip(opaqueFixed(16), Buffer.alloc(16, 0xab), 16);
    roundTrip(opaqueFixed(3), Buffer.from([9, 8, 7]), 4);
  });

  it('encodes optional values as a presence word', () => {
    expect(encode(optString(), null).toString('hex')).toBe('00000000');
    expect(encode(optString(), 'a').toString('hex')).toBe('000000010000000161000000');
    roundTrip(optString(), null);
    roundTrip(optString(), 'x');
    roundTrip(optional(int), 7);
    roundTrip(optional(int), null);
  });

  it('round-trips arrays, structs (in field order) and unions', () => {
    roundTrip(array(int, 10), [1, -2, 3]);
    roundTrip(array(string(), 10), []);
    const point = struct({ y: int, x: int, label: optString() });
    const bytes = roundTrip(point, { y: 1, x: 2, label: 'p' });
    expect(bytes.readInt32BE(0)).toBe(1); // declaration order, not alphabetical
    const u = union({ 1: int, 3: hyper, 7: string() });
    roundTrip(u, { type: 1, value: -5 });
    roundTrip(u, { type: 3, value: 5n });
    roundTrip(u, { type: 7, value: 'on' });
    roundTrip(empty, undefined, 0);
  });

  it('writes and reads short ASCII strings byte by byte, exactly as the UTF-8 path would', () => {
    // Every length across both sides' short-string limits, and non-ASCII at the start, middle and end (the
    // writer has already copied bytes when it meets the character, and must leave nothing of them behind).
    for (let n = 0; n <= 70; n++) {
      const ascii = 'abcdefghij'.repeat(7).slice(0, n);
      const bytes = roundTrip(string(), ascii);
      expect(bytes.subarray(4, 4 + n)).toEqual(Buffer.from(ascii));
      if (n === 0) continue;
      for (const at of [0, Math.floor(n / 2), n - 1]) {
        const mixed = `${ascii.slice(0, at)}é${ascii.slice(at + 1)}`;
        const b = roundTrip(string(), mixed);
        expect(b.readUInt32BE(0)).toBe(Buffer.byteLength(mixed));
        expect(b.subarray(4, 4 + Buffer.byteLength(mixed))).toEqual(Buffer.from(mixed));
      }
    }
    // In a struct after other fields: the string lands where the cursor is, and what follows lands after it.
    const s = struct({ a: int, name: string(), b: int });
    expect(encode(s, { a: 1, name: 'vm', b: 2 }).toString('hex')).toBe(
      '00000001' + '00000002766d0000' + '00000002',
    );
    // Bytes that are not ASCII (here not even UTF-8) read as Node's decoder reads them.
    const odd = Buffer.from('00000004' + '61ff6280', 'hex');
    expect(decode(string(), odd)).toBe(Buffer.from('61ff6280', 'hex').toString('utf8'));
  });

  it('struct codecs write out their own methods after some uses, and keep the wire format', () => {
    const point = struct({ y: int, x: int, label: optString() });
    const loop = { encode: point.encode, decode: point.decode };
    const value = { y: 1, x: 2, label: 'p' };
    const wire = '00000001' + '00000002' + '00000001' + '0000000170000000';
    let uses = 0;
    while (point.encode === loop.encode) {
      const bytes = encode(point, value);
      expect(bytes.toString('hex')).toBe(wire);
      expect(decode(point, bytes)).toEqual(value);
      uses += 2;
      expect(uses).toBeLessThan(100);
    }
    // Written out now: the same bytes, and objects with the fields in declaration order.
    expect(point.decode).not.toBe(loop.decode);
    const bytes = encode(point, value);
    expect(bytes.toString('hex')).toBe(wire);
    const back = decode(point, bytes);
    expect(back).toEqual(value);
    expect(Object.keys(back)).toEqual(['y', 'x', 'label']);
    // Nested structs, each specialised on its own count (decoding first counts too).
    const line = struct({ from: point, to: point });
    const l = { from: { y: 1, x: 2, label: null }, to: { y: 3, x: 4, label: 'q' } };
    for (let i = 0; i < 40; i++) expect(decode(line, encode(line, l))).toEqual(l);
  });

  it('struct field names are only ever quoted into the written-out methods', () => {
    // Names that would break or change code pasted in unquoted: quotes, a backslash, a line separator,
    // a closing brace, code.
    const odd = struct({ 'a"b': int, 'c\\d': int, 'e\u2028f': int, '}); throw 1; ({': int, 'x: 1, y': int });
    const v = { 'a"b': 1, 'c\\d': 2, 'e\u2028f': 3, '}); throw 1; ({': 4, 'x: 1, y': 5 };
    const before = odd.encode;
    for (let i = 0; i < 20; i++) {
      const bytes = encode(odd, v);
      expect(bytes.toString('hex')).toBe('0000000100000002000000030000000400000005');
      expect(decode(odd, bytes)).toEqual(v);
    }
    expect(odd.encode).not.toBe(before);
    expect(() => struct({ ['__proto__']: int })).toThrow(TypeError);
  });

  it('struct codecs work where code generation from strings is turned off', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { fileURLToPath } = await import('node:url');
    const index = fileURLToPath(new URL('./index.ts', import.meta.url));
    const script = `
      import { decode, encode, int, optString, string, struct } from ${JSON.stringify(index)};
      let generated = true;
      try { new Function('return 1'); } catch { generated = false; }
      const s = struct({ a: int, name: string(), label: optString() });
      let bytes;
      for (let i = 0; i < 20; i++) bytes = encode(s, { a: 5, name: 'hé', label: null });
      console.log(JSON.stringify({ generated, hex: bytes.toString('hex'), back: decode(s, bytes) }));`;
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--disallow-code-generation-from-strings',
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ]);
    expect(JSON.parse(stdout)).toEqual({
      generated: false,
      hex: '00000005' + '0000000368c3a900' + '00000000',
      back: { a: 5, name: 'hé', label: null },
    });
  });

  it('writer grows past its initial size', () => {
    const w = new XdrWriter(16);
    for (let i = 0; i < 10_000; i++) w.uint32(i);
    const r = new XdrReader(w.finish());
    for (let i = 0; i < 10_000; i++) expect(r.uint32()).toBe(i);
    r.done();
  });
});

describe('XDR errors', () => {
  it('XDR_SHORT when bytes run out', () => {
    expect(xdrCode(() => decode(int, Buffer.alloc(3)))).toBe('XDR_SHORT');
    expect(xdrCode(() => decode(hyper, Buffer.alloc(7)))).toBe('XDR_SHORT');
    // a string claiming 8 bytes with only 4 present
    expect(xdrCode(() => decode(string(), Buffer.from('0000000861626364', 'hex')))).toBe('XDR_SHORT');
    // an array count that cannot fit in what is left, checked before allocating
    expect(xdrCode(() => decode(array(int, 1e9), Buffer.from('10000000', 'hex')))).toBe('XDR_SHORT');
  });

  it('XDR_LIMIT when a length exceeds its declared maximum', () => {
    expect(xdrCode(() => decode(string(2), Buffer.from('0000000361626300', 'hex')))).toBe('XDR_LIMIT');
    expect(xdrCode(() => decode(array(int, 1), Buffer.from('000000020000000100000002', 'hex')))).toBe(
      'XDR_LIMIT',
    );
    expect(xdrCode(() => encode(string(2), 'abc'))).toBe('XDR_LIMIT');
    expect(xdrCode(() => encode(array(int, 1), [1, 2]))).toBe('XDR_LIMIT');
    expect(xdrCode(() => encode(opaque(1), Buffer.alloc(2)))).toBe('XDR_LIMIT');
  });

  it('XDR_BAD_BOOL, XDR_BAD_UNION, XDR_TRAILING', () => {
    expect(xdrCode(() => decode(bool, Buffer.from('00000002', 'hex')))).toBe('XDR_BAD_BOOL');
    expect(xdrCode(() => decode(optString(), Buffer.from('00000005', 'hex')))).toBe('XDR_BAD_BOOL');
    expect(xdrCode(() => decode(union({ 1: int }), Buffer.from('0000000200000000', 'hex')))).toBe(
      'XDR_BAD_UNION',
    );
    expect(xdrCode(() => decode(int, Buffer.alloc(8)))).toBe('XDR_TRAILING');
  });

  it('XDR_RANGE for values that do not fit their type', () => {
    expect(xdrCode(() => encode(int, 2 ** 31))).toBe('XDR_RANGE');
    expect(xdrCode(() => encode(uint, -1))).toBe('XDR_RANGE');
    expect(xdrCode(() => encode(uint, 1.5))).toBe('XDR_RANGE');
    expect(xdrCode(() => encode(uhyper, -1n))).toBe('XDR_RANGE');
    expect(xdrCode(() => encode(hyper, 2n ** 63n))).toBe('XDR_RANGE');
    expect(xdrCode(() => encode(opaqueFixed(16), Buffer.alloc(15)))).toBe('XDR_RANGE');
  });
});
