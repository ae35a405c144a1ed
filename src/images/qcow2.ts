// The qcow2 header, parsed in full from the file's first bytes (the format is QEMU's docs/interop/qcow2.rst:
// "QFI\xfb", version 2 or 3, the fixed fields, v3's feature bitmaps and header length, then the header
// extensions up to the backing file name or the end of the first cluster). Roost hands a qcow2 file to QEMU as a
// VM's base image, and some header fields make QEMU open *other* files: an external data file (incompatible
// feature bit 2 and its header extension) exposes any host file to the guest, and a backing file chains to one.
// So everything QEMU would act on is checked here, and anything this parser does not understand is refused.
// Pure: it reads a Buffer holding the file's start; bytes past its end are missing (a truncated file).
import { Qcow2Error } from './errors.js';
import { hasControlChars, printable } from './text.js';

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"

/** Incompatible feature bits (a reader that does not know one must not open the image). */
export const INCOMPAT = {
  dirty: 1n << 0n,
  corrupt: 1n << 1n,
  externalDataFile: 1n << 2n,
  compressionType: 1n << 3n,
  extendedL2: 1n << 4n,
} as const;
const KNOWN_INCOMPAT = Object.values(INCOMPAT).reduce((a, b) => a | b, 0n);

/** Header extension types. */
export const EXT = {
  end: 0x00000000,
  backingFormat: 0xe2792aca,
  featureNames: 0x6803f857,
  bitmaps: 0x23852875,
  encryption: 0x0537be77,
  externalDataFile: 0x44415441,
} as const;

const COMPRESSION_TYPES = ['zlib', 'zstd'] as const;
/** QEMU's own limits: clusters of 512 B to 2 MiB, a backing name of at most 1023 bytes. */
const MIN_CLUSTER_BITS = 9;
const MAX_CLUSTER_BITS = 21;
const MAX_BACKING_NAME = 1023;
const MAX_FORMAT_NAME = 16;
const MAX_EXTENSIONS = 64;
const V2_HEADER_LENGTH = 72;
const V3_MIN_HEADER_LENGTH = 104;

export interface Qcow2Header {
  version: 2 | 3;
  clusterBits: number;
  virtualSize: number;
  incompatible: bigint;
  compression: (typeof COMPRESSION_TYPES)[number];
  backingFile?: string;
  backingFormat?: string;
  /** Extension types seen, in order (for tests and diagnostics). */
  extensions: number[];
}

/**
 * How many bytes from the file's start `parseQcow2Header` may need: the fixed header tells the cluster size,
 * and extensions and the backing name lie within the first cluster (plus the name's length).
 */
export function qcow2HeaderSpan(clusterBits: number): number {
  const bits = Math.min(Math.max(clusterBits, MIN_CLUSTER_BITS), MAX_CLUSTER_BITS);
  return 2 ** bits + MAX_BACKING_NAME + 1;
}

/** A view of the file's first bytes that says "truncated" instead of throwing RangeError. */
class Bytes {
  constructor(readonly buf: Buffer) {}
  need(offset: number, length: number, what: string): void {
    if (offset + length > this.buf.length) {
      throw new Qcow2Error('truncated', `the file ends inside its qcow2 header (${what})`);
    }
  }
  u32(offset: number, what: string): number {
    this.need(offset, 4, what);
    return this.buf.readUInt32BE(offset);
  }
  u64(offset: number, what: string): bigint {
    this.need(offset, 8, what);
    return this.buf.readBigUInt64BE(offset);
  }
  u8(offset: number, what: string): number {
    this.need(offset, 1, what);
    return this.buf[offset]!;
  }
  slice(offset: number, length: number, what: string): Buffer {
    this.need(offset, length, what);
    return this.buf.subarray(offset, offset + length);
  }
}

export function isQcow2(head: Buffer): boolean {
  return head.length >= 4 && head.readUInt32BE(0) === QCOW2_MAGIC;
}

export function parseQcow2Header(buf: Buffer): Qcow2Header {
  const b = new Bytes(buf);
  if (b.u32(0, 'magic') !== QCOW2_MAGIC) throw new Qcow2Error('invalid', 'not a qcow2 file');
  const version = b.u32(4, 'version');
  if (version !== 2 && version !== 3) {
    throw new Qcow2Error('unsupported', `qcow2 version ${version} is not supported (only 2 and 3)`);
  }
  const backingOffset = b.u64(8, 'backing file offset');
  const backingSize = b.u32(16, 'backing file size');
  const clusterBits = b.u32(20, 'cluster bits');
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw new Qcow2Error('invalid', `invalid cluster size 2^${clusterBits}`);
  }
  const clusterSize = 2 ** clusterBits;
  const size = b.u64(24, 'virtual size');
  if (size > BigInt(Number.MAX_SAFE_INTEGER))
    throw new Qcow2Error('invalid', `virtual size ${size} is too large`);
  const cryptMethod = b.u32(32, 'encryption method');
  if (cryptMethod !== 0) {
    throw new Qcow2Error('unsupported', 'the image is encrypted; roost cannot give QEMU its passphrase');
  }

  let incompatible = 0n;
  let headerLength = V2_HEADER_LENGTH;
  let compression: Qcow2Header['compression'] = 'zlib';
  if (version === 3) {
    incompatible = b.u64(72, 'incompatible features');
    const refcountOrder = b.u32(96, 'refcount order');
    if (refcountOrder > 6) throw new Qcow2Error('invalid', `invalid refcount order ${refcountOrder}`);
    headerLength = b.u32(100, 'header length');
    if (headerLength < V3_MIN_HEADER_LENGTH || headerLength > clusterSize) {
      throw new Qcow2Error('invalid', `invalid qcow2 v3 header length ${headerLength}`);
    }
    const typeCode = headerLength > V3_MIN_HEADER_LENGTH ? b.u8(104, 'compression type') : 0;
    compression = checkCompression(typeCode, (incompatible & INCOMPAT.compressionType) !== 0n);
    checkIncompatible(incompatible);
  }
  if (incompatible & INCOMPAT.externalDataFile)
    throw externalDataFile(b, headerLength, clusterSize, backingOffset);

  if (backingOffset !== 0n && (backingOffset > BigInt(clusterSize) || backingOffset < BigInt(headerLength))) {
    throw new Qcow2Error('invalid', `invalid backing file offset ${backingOffset}`);
  }
  // Extensions run from the end of the header to the backing file name, or to the end of the first cluster.
  const extEnd = backingOffset !== 0n ? Number(backingOffset) : clusterSize;
  const ext = readExtensions(b, headerLength, extEnd);

  let backingFile: string | undefined;
  if (backingOffset !== 0n && backingSize > 0) {
    if (backingSize > MAX_BACKING_NAME) {
      throw new Qcow2Error('invalid', `backing file name of ${backingSize} bytes is too long`);
    }
    backingFile = text(b.slice(Number(backingOffset), backingSize, 'backing file name'), 'backing file name');
  }
  return {
    version,
    clusterBits,
    virtualSize: Number(size),
    incompatible,
    compression,
    backingFile,
    backingFormat: ext.backingFormat,
    extensions: ext.types,
  };
}

function checkCompression(code: number, bitSet: boolean): Qcow2Header['compression'] {
  const type = COMPRESSION_TYPES[code];
  if (!type) throw new Qcow2Error('unsupported', `unknown qcow2 compression type ${code}`);
  if (bitSet !== (type !== 'zlib')) {
    throw new Qcow2Error('invalid', `compression type ${type} disagrees with the compression feature bit`);
  }
  return type;
}

function checkIncompatible(bits: bigint): void {
  if (bits & INCOMPAT.corrupt) {
    throw new Qcow2Error('invalid', 'the image is marked corrupt', {
      hint: 'check and repair a copy: qemu-img check -r all FILE',
    });
  }
  const unknown = bits & ~KNOWN_INCOMPAT;
  if (unknown) {
    throw new Qcow2Error(
      'unsupported',
      `the image uses unknown incompatible qcow2 features (0x${unknown.toString(16)})`,
    );
  }
}

function externalDataError(name?: Buffer): Qcow2Error {
  const which = name ? ` ('${printable(name.toString('utf8'))}')` : '';
  return new Qcow2Error(
    'external-data',
    `the image keeps its data in an external data file${which}: QEMU would open that host file for the guest`,
  );
}

/** The refusal for the external-data feature bit, naming the file if the header extension can be read. */
function externalDataFile(b: Bytes, start: number, clusterSize: number, backingOffset: bigint): Qcow2Error {
  try {
    readExtensions(
      b,
      start,
      backingOffset !== 0n && backingOffset <= BigInt(clusterSize) ? Number(backingOffset) : clusterSize,
    );
  } catch (e) {
    if (e instanceof Qcow2Error && e.problem === 'external-data') return e;
  }
  return externalDataError();
}

function readExtensions(b: Bytes, start: number, end: number): { types: number[]; backingFormat?: string } {
  const types: number[] = [];
  let backingFormat: string | undefined;
  let offset = start;
  while (offset < end) {
    if (offset + 8 > end) throw new Qcow2Error('invalid', 'a qcow2 header extension overruns the header');
    const type = b.u32(offset, 'header extension');
    const length = b.u32(offset + 4, 'header extension');
    if (type === EXT.end) break;
    if (types.length >= MAX_EXTENSIONS) {
      throw new Qcow2Error('invalid', `more than ${MAX_EXTENSIONS} qcow2 header extensions`);
    }
    offset += 8;
    if (length > end - offset)
      throw new Qcow2Error('invalid', 'a qcow2 header extension overruns the header');
    const data = b.slice(offset, length, 'header extension');
    types.push(type);
    if (type === EXT.externalDataFile) throw externalDataError(data);
    if (type === EXT.encryption) {
      throw new Qcow2Error('unsupported', 'the image is encrypted; roost cannot give QEMU its passphrase');
    }
    if (type === EXT.backingFormat) {
      if (length === 0 || length > MAX_FORMAT_NAME)
        throw new Qcow2Error('invalid', 'invalid backing format name');
      backingFormat = text(data, 'backing format');
    }
    offset += Math.ceil(length / 8) * 8;
  }
  return { types, backingFormat };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** A name from the header as text: UTF-8 without control characters, or refused. */
function text(bytes: Buffer, what: string): string {
  let s: string;
  try {
    s = decoder.decode(bytes);
  } catch {
    throw new Qcow2Error('invalid', `the ${what} is not valid UTF-8`);
  }
  if (hasControlChars(s)) throw new Qcow2Error('invalid', `the ${what} contains control characters`);
  return s;
}
