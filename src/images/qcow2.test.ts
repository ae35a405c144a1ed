import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Qcow2Error } from './errors.js';
import { EXT, INCOMPAT, parseQcow2Header, QCOW2_MAGIC } from './qcow2.js';

interface HeaderSpec {
  version?: number;
  incompatible?: bigint;
  headerLength?: number;
  compressionType?: number;
  cryptMethod?: number;
  clusterBits?: number;
  extensions?: { type: number; data: Buffer }[];
  backing?: Buffer | string;
  /** Bytes in the file (the header and whatever follows it). */
  size?: number;
}

/** A qcow2 header laid out as QEMU writes one: fixed fields, extensions, end marker, backing name. */
function header(spec: HeaderSpec = {}): Buffer {
  const version = spec.version ?? 3;
  const b = Buffer.alloc(spec.size ?? 4096);
  b.writeUInt32BE(QCOW2_MAGIC, 0);
  b.writeUInt32BE(version, 4);
  b.writeUInt32BE(spec.clusterBits ?? 16, 20);
  b.writeBigUInt64BE(1n << 30n, 24);
  b.writeUInt32BE(spec.cryptMethod ?? 0, 32);
  let offset = 72;
  if (version === 3) {
    const headerLength = spec.headerLength ?? (spec.compressionType !== undefined ? 112 : 104);
    b.writeBigUInt64BE(spec.incompatible ?? 0n, 72);
    b.writeUInt32BE(4, 96);
    b.writeUInt32BE(headerLength, 100);
    if (spec.compressionType !== undefined) b[104] = spec.compressionType;
    offset = headerLength;
  }
  for (const e of spec.extensions ?? []) {
    b.writeUInt32BE(e.type, offset);
    b.writeUInt32BE(e.data.length, offset + 4);
    e.data.copy(b, offset + 8);
    offset += 8 + Math.ceil(e.data.length / 8) * 8;
  }
  offset += 8; // end of extensions: type 0, length 0
  if (spec.backing !== undefined) {
    const name = Buffer.from(spec.backing);
    b.writeBigUInt64BE(BigInt(offset), 8);
    b.writeUInt32BE(name.length, 16);
    name.copy(b, offset);
  }
  return b;
}

const problemOf = (buf: Buffer) => {
  try {
    parseQcow2Header(buf);
    return 'ok';
  } catch (e) {
    if (!(e instanceof Qcow2Error)) throw e;
    return e.problem;
  }
};

describe('parseQcow2Header', () => {
  it('reads a v3 header: size, cluster bits, backing file and its format', () => {
    const h = parseQcow2Header(
      header({
        extensions: [{ type: EXT.backingFormat, data: Buffer.from('qcow2') }],
        backing: '/images/base.qcow2',
      }),
    );
    expect(h).toMatchObject({
      version: 3,
      clusterBits: 16,
      virtualSize: 2 ** 30,
      compression: 'zlib',
      backingFile: '/images/base.qcow2',
      backingFormat: 'qcow2',
      extensions: [EXT.backingFormat],
    });
  });

  it('reads a v2 header (no feature bits; extensions start at byte 72)', () => {
    expect(parseQcow2Header(header({ version: 2, backing: 'base.img' }))).toMatchObject({
      version: 2,
      backingFile: 'base.img',
    });
  });

  it('accepts the features QEMU writes today: dirty, extended L2, zstd compression, feature names, bitmaps', () => {
    const h = parseQcow2Header(
      header({
        incompatible: INCOMPAT.dirty | INCOMPAT.extendedL2 | INCOMPAT.compressionType,
        compressionType: 1,
        extensions: [
          { type: EXT.featureNames, data: Buffer.alloc(48 * 3) },
          { type: EXT.bitmaps, data: Buffer.alloc(24) },
        ],
      }),
    );
    expect(h.compression).toBe('zstd');
  });

  it('refuses an external data file, by feature bit and by header extension', () => {
    expect(problemOf(header({ incompatible: INCOMPAT.externalDataFile }))).toBe('external-data');
    const ext = header({
      extensions: [{ type: EXT.externalDataFile, data: Buffer.from('/home/u/.ssh/id_ed25519') }],
    });
    expect(problemOf(ext)).toBe('external-data');
    expect(() => parseQcow2Header(ext)).toThrow(/external data file \('\/home\/u\/\.ssh\/id_ed25519'\)/);
  });

  it('refuses unknown incompatible features, a corrupt mark, encryption and unknown compression', () => {
    expect(problemOf(header({ incompatible: 1n << 5n }))).toBe('unsupported');
    expect(problemOf(header({ incompatible: 1n << 63n }))).toBe('unsupported');
    expect(problemOf(header({ incompatible: INCOMPAT.corrupt }))).toBe('invalid');
    expect(problemOf(header({ cryptMethod: 2 }))).toBe('unsupported');
    expect(problemOf(header({ extensions: [{ type: EXT.encryption, data: Buffer.alloc(16) }] }))).toBe(
      'unsupported',
    );
    expect(problemOf(header({ incompatible: INCOMPAT.compressionType, compressionType: 2 }))).toBe(
      'unsupported',
    );
    // The type and its feature bit must agree.
    expect(problemOf(header({ compressionType: 1 }))).toBe('invalid');
    expect(problemOf(header({ version: 1 }))).toBe('unsupported');
  });

  it('refuses over-long and odd backing file names', () => {
    expect(problemOf(header({ backing: 'a'.repeat(1023) }))).toBe('ok');
    expect(problemOf(header({ backing: 'a'.repeat(1024) }))).toBe('invalid');
    expect(problemOf(header({ backing: 'base\nHost *' }))).toBe('invalid');
    expect(problemOf(header({ backing: 'base\u001b[2J' }))).toBe('invalid');
    expect(problemOf(header({ backing: Buffer.from([0x62, 0xff, 0xfe]) }))).toBe('invalid');
    expect(problemOf(header({ backing: 'base\0.qcow2' }))).toBe('invalid');
  });

  it('refuses impossible layouts: cluster size, header length, backing offset, overrunning extensions', () => {
    expect(problemOf(header({ clusterBits: 8 }))).toBe('invalid');
    expect(problemOf(header({ clusterBits: 22 }))).toBe('invalid');
    expect(problemOf(header({ headerLength: 96 }))).toBe('invalid');
    const farBacking = header();
    farBacking.writeBigUInt64BE(1n << 40n, 8);
    farBacking.writeUInt32BE(4, 16);
    expect(problemOf(farBacking)).toBe('invalid');
    const overrun = header({ clusterBits: 9, size: 512 });
    overrun.writeUInt32BE(EXT.bitmaps, 104);
    overrun.writeUInt32BE(1000, 108);
    expect(problemOf(overrun)).toBe('invalid');
  });

  it('bounds the header extension walk', () => {
    const many = Array.from({ length: 65 }, () => ({ type: 0x12345678, data: Buffer.alloc(8) }));
    expect(problemOf(header({ extensions: many }))).toBe('invalid');
    expect(problemOf(header({ extensions: many.slice(0, 64) }))).toBe('ok');
  });

  it('at every truncation length: the same answer once all is there, a "truncated" refusal before', () => {
    const specs: HeaderSpec[] = [
      { backing: '/images/base.qcow2', extensions: [{ type: EXT.backingFormat, data: Buffer.from('raw') }] },
      { version: 2, backing: 'b' },
      {
        incompatible: INCOMPAT.compressionType,
        compressionType: 1,
        extensions: [{ type: EXT.featureNames, data: Buffer.alloc(96) }],
      },
      { extensions: [{ type: EXT.externalDataFile, data: Buffer.from('/etc/shadow') }] },
      { incompatible: 1n << 9n },
    ];
    for (const [i, spec] of specs.entries()) {
      const full = header(spec);
      const want = problemOf(full);
      let firstComplete = -1;
      for (let n = 0; n <= 1200; n++) {
        const got = problemOf(full.subarray(0, n));
        if (got === want && firstComplete < 0) firstComplete = n;
        if (firstComplete < 0) expect(['truncated', 'invalid']).toContain(got);
        else expect(got, `spec ${i} at ${n} bytes`).toBe(want);
      }
      expect(firstComplete).toBeGreaterThan(0);
    }
  });

  it('never throws anything but Qcow2Error on random bytes after the magic', () => {
    for (let i = 0; i < 2000; i++) {
      const b = randomBytes(1 + (i % 600));
      if (b.length >= 4) b.writeUInt32BE(QCOW2_MAGIC, 0);
      if (b.length >= 8) b.writeUInt32BE(2 + (i % 2), 4);
      expect(['ok', 'truncated', 'invalid', 'unsupported', 'external-data']).toContain(problemOf(b));
    }
  });
});
