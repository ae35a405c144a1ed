// A minimal ISO 9660 image writer for cloud-init's NoCloud seed: one flat root directory of small files.
//
// cloud-init finds the seed by its volume label (`cidata`) and reads `user-data`, `meta-data` and
// `network-config` by those exact names. Plain ISO 9660 names are upper-case 8.3 (`USER_DAT.;1`), so the
// image carries two extra name sets, as genisoimage -J -r writes them:
//   - Rock Ridge (RRIP 1.10): POSIX names (NM), modes (PX) and times (TF) in each primary directory record's
//     System Use area; the root's "." record starts with SP and points (CE) to an ER record naming RRIP;
//   - Joliet: a supplementary volume descriptor whose own directory tree has UCS-2 names.
// Linux's isofs prefers Rock Ridge, then Joliet; either gives the exact names.
//
// Layout (2048-byte sectors):
//   0-15 system area (zeros) · 16 primary descriptor · 17 Joliet descriptor · 18 terminator
//   19/20 L/M path tables (primary) · 21/22 L/M path tables (Joliet)
//   23 primary root directory · 24 Rock Ridge continuation area (ER) · 25 Joliet root directory
//   26… file data, each file starting on a sector boundary; then 150 zero sectors of padding, as mkisofs -pad
//   writes them (CD-ROM read-ahead past the last file then reads zeros, not an I/O error)
// References: ECMA-119 (ISO 9660), IEEE P1282 (RRIP 1.10) and P1281 (SUSP), the Joliet specification (1995).

const SECTOR = 2048;
const PADDING_SECTORS = 150;

export interface IsoFile {
  /** Name in the root directory (Rock Ridge/Joliet); up to 64 characters, no '/'. */
  name: string;
  data: Buffer | string;
}

export interface IsoOptions {
  /** Volume label, up to 16 characters (Joliet stores 16 UCS-2 characters). */
  volumeId: string;
  files: IsoFile[];
  /** Time recorded for the volume and every file (default: now). Fixed time → byte-identical output. */
  timestamp?: Date;
}

// --- Byte helpers. ISO 9660 stores most numbers "both-endian": little-endian then big-endian copies. ---

function both32(buf: Buffer, off: number, v: number): void {
  buf.writeUInt32LE(v, off);
  buf.writeUInt32BE(v, off + 4);
}

function both16(buf: Buffer, off: number, v: number): void {
  buf.writeUInt16LE(v, off);
  buf.writeUInt16BE(v, off + 2);
}

/** A field of `len` bytes: ASCII text padded with spaces. */
function ascii(buf: Buffer, off: number, len: number, text: string): void {
  buf.fill(0x20, off, off + len);
  buf.write(text.slice(0, len), off, 'latin1');
}

/** A field of `len` bytes: UCS-2 big-endian text padded with UCS-2 spaces (Joliet). */
function ucs2(buf: Buffer, off: number, len: number, text: string): void {
  for (let i = 0; i + 1 < len; i += 2) buf.writeUInt16BE(0x0020, off + i);
  const enc = ucs2be(text).subarray(0, len & ~1);
  enc.copy(buf, off);
}

function ucs2be(text: string): Buffer {
  const b = Buffer.from(text, 'utf16le');
  return b.swap16();
}

/** Directory-record date: 7 bytes (years since 1900, month, day, hour, minute, second, GMT offset/15 min). */
function recordDate(d: Date): Buffer {
  return Buffer.from([
    d.getUTCFullYear() - 1900,
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    0,
  ]);
}

/** Volume-descriptor date: 16 ASCII digits "YYYYMMDDHHMMSScc" and the GMT offset byte. */
function volumeDate(d: Date | undefined, buf: Buffer, off: number): void {
  if (!d) {
    buf.write('0000000000000000', off, 'latin1');
    buf[off + 16] = 0;
    return;
  }
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const s =
    p(d.getUTCFullYear(), 4) +
    p(d.getUTCMonth() + 1) +
    p(d.getUTCDate()) +
    p(d.getUTCHours()) +
    p(d.getUTCMinutes()) +
    p(d.getUTCSeconds()) +
    '00';
  buf.write(s, off, 'latin1');
  buf[off + 16] = 0;
}

// --- Rock Ridge / SUSP entries: 2-letter signature, length, version 1, payload. ---

function susp(sig: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(sig, 'latin1'), Buffer.from([4 + payload.length, 1]), payload]);
}

function bothBuf32(v: number): Buffer {
  const b = Buffer.alloc(8);
  both32(b, 0, v);
  return b;
}

/** PX (RRIP 1.10, 36 bytes): mode, links, uid, gid. */
const px = (mode: number, links: number) =>
  susp('PX', Buffer.concat([bothBuf32(mode), bothBuf32(links), bothBuf32(0), bothBuf32(0)]));
/** TF: modify, access and attribute-change times, short form. */
const tf = (d: Date) =>
  susp('TF', Buffer.concat([Buffer.from([0x0e]), recordDate(d), recordDate(d), recordDate(d)]));
/** NM: the POSIX name. */
const nm = (name: string) => susp('NM', Buffer.concat([Buffer.from([0]), Buffer.from(name, 'utf8')]));
/** RR (RRIP 1.09 compatibility): which RRIP entries follow (PX=1, NM=8, TF=128). */
const rr = (flags: number) => susp('RR', Buffer.from([flags]));
/** SP: "SUSP is used here", check bytes BE EF, nothing to skip. Must be first in the root's "." record. */
const sp = () => susp('SP', Buffer.from([0xbe, 0xef, 0]));
/** CE: the rest of this record's System Use entries are at (sector, offset, length). */
const ce = (sector: number, length: number) =>
  susp('CE', Buffer.concat([bothBuf32(sector), bothBuf32(0), bothBuf32(length)]));

/** ER: declares the Rock Ridge extension (the strings are those of RRIP 1.10). */
function er(): Buffer {
  const id = 'RRIP_1991A';
  const des = 'THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS';
  const src =
    'PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.';
  return susp(
    'ER',
    Buffer.concat([
      Buffer.from([id.length, des.length, src.length, 1]),
      Buffer.from(id + des + src, 'latin1'),
    ]),
  );
}

const MODE_DIR = 0o040555;
const MODE_FILE = 0o100444;

// --- Directory records (ECMA-119 §9.1). ---

interface Extent {
  sector: number;
  size: number;
}

function dirRecord(
  id: Buffer,
  extent: Extent,
  isDir: boolean,
  date: Date,
  systemUse: Buffer = Buffer.alloc(0),
): Buffer {
  const pad = id.length % 2 === 0 ? 1 : 0; // keeps the System Use area at an even offset
  let len = 33 + id.length + pad + systemUse.length;
  len += len % 2; // records have even length
  if (len > 255) throw new Error('ISO 9660 directory record too long');
  const r = Buffer.alloc(len);
  r[0] = len;
  both32(r, 2, extent.sector);
  both32(r, 10, extent.size);
  recordDate(date).copy(r, 18);
  r[25] = isDir ? 0x02 : 0;
  both16(r, 28, 1); // volume sequence number
  r[32] = id.length;
  id.copy(r, 33);
  systemUse.copy(r, 33 + id.length + pad);
  return r;
}

/** Identifiers of "." and "..". */
const SELF = Buffer.from([0]);
const PARENT = Buffer.from([1]);

/** Upper-case 8.3 ISO 9660 level-1 names (NAME.EXT;1), made unique; only readers without RR/Joliet see them. */
function level1Names(names: string[]): string[] {
  const used = new Set<string>();
  return names.map((n) => {
    const clean = (s: string) => s.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
    const dot = n.lastIndexOf('.');
    const stem = clean(dot > 0 ? n.slice(0, dot) : n).slice(0, 8) || '_';
    const ext = dot > 0 ? clean(n.slice(dot + 1)).slice(0, 3) : '';
    let candidate = `${stem}.${ext}`;
    for (let i = 1; used.has(candidate); i++) {
      const suffix = String(i);
      candidate = `${stem.slice(0, 8 - suffix.length)}${suffix}.${ext}`;
    }
    used.add(candidate);
    return candidate;
  });
}

/** One sector holding a directory's records (enough for a seed's handful of files). */
function directorySector(records: Buffer[]): Buffer {
  const sector = Buffer.alloc(SECTOR);
  let off = 0;
  for (const r of records) {
    if (off + r.length > SECTOR) throw new Error('too many files for a one-sector ISO 9660 directory');
    r.copy(sector, off);
    off += r.length;
  }
  return sector;
}

/** A path table with the root directory only: L (little-endian) or M (big-endian). */
function pathTable(rootSector: number, bigEndian: boolean): Buffer {
  const t = Buffer.alloc(SECTOR);
  t[0] = 1; // identifier length
  t[1] = 0; // extended attribute record length
  if (bigEndian) {
    t.writeUInt32BE(rootSector, 2);
    t.writeUInt16BE(1, 6); // parent directory number: the root is its own parent
  } else {
    t.writeUInt32LE(rootSector, 2);
    t.writeUInt16LE(1, 6);
  }
  t[8] = 0; // root identifier
  return t;
}
const PATH_TABLE_SIZE = 10;

function volumeDescriptor(
  type: 1 | 2,
  o: { volumeId: string; totalSectors: number; lPath: number; mPath: number; root: Buffer; date: Date },
): Buffer {
  const d = Buffer.alloc(SECTOR);
  const joliet = type === 2;
  const text = joliet ? ucs2 : ascii;
  d[0] = type;
  d.write('CD001', 1, 'latin1');
  d[6] = 1;
  text(d, 8, 32, ''); // system identifier
  text(d, 40, 32, o.volumeId);
  both32(d, 80, o.totalSectors);
  if (joliet) d.write('%/E', 88, 'latin1'); // escape sequence: UCS-2 level 3
  both16(d, 120, 1); // volume set size
  both16(d, 124, 1); // volume sequence number
  both16(d, 128, SECTOR);
  both32(d, 132, PATH_TABLE_SIZE);
  d.writeUInt32LE(o.lPath, 140);
  d.writeUInt32BE(o.mPath, 148);
  o.root.copy(d, 156); // 34-byte root directory record
  text(d, 190, 128, ''); // volume set
  text(d, 318, 128, ''); // publisher
  text(d, 446, 128, ''); // data preparer
  text(d, 574, 128, joliet ? 'roost' : 'ROOST');
  text(d, 702, 37, ''); // copyright file
  text(d, 739, 37, ''); // abstract file
  text(d, 776, 37, ''); // bibliographic file
  volumeDate(o.date, d, 813); // created
  volumeDate(o.date, d, 830); // modified
  volumeDate(undefined, d, 847); // expires: never
  volumeDate(undefined, d, 864); // effective: at once
  d[881] = 1; // file structure version
  return d;
}

/** Fixed sectors of the image (see the layout above); the files' data follows from FIRST_FILE. */
const AT = {
  PVD: 16,
  L_PATH: 19,
  M_PATH: 20,
  JL_PATH: 21,
  JM_PATH: 22,
  ROOT: 23,
  CONT: 24,
  JROOT: 25,
  FIRST_FILE: 26,
} as const;
const ROOT_EXTENT = { sector: AT.ROOT, size: SECTOR };
const JROOT_EXTENT = { sector: AT.JROOT, size: SECTOR };

/** A file with its data as bytes. */
interface FileBytes {
  name: string;
  data: Buffer;
}

/** Builds the whole image in memory (seeds are a few KiB). */
export function buildIso9660(opts: IsoOptions): Buffer {
  const date = opts.timestamp ?? new Date();
  if (!opts.volumeId || opts.volumeId.length > 16) throw new Error('ISO volume id must be 1-16 characters');
  const files = checkedFiles(opts.files);
  let next: number = AT.FIRST_FILE;
  const extents = files.map((f) => {
    const e = { sector: next, size: f.data.length };
    next += Math.ceil(f.data.length / SECTOR);
    return e;
  });
  const totalSectors = next + PADDING_SECTORS;
  const erEntry = er();

  const image = Buffer.alloc(totalSectors * SECTOR);
  const put = (sector: number, data: Buffer) => data.copy(image, sector * SECTOR);
  putDescriptors(put, opts.volumeId, totalSectors, date);
  put(AT.L_PATH, pathTable(AT.ROOT, false));
  put(AT.M_PATH, pathTable(AT.ROOT, true));
  put(AT.JL_PATH, pathTable(AT.JROOT, false));
  put(AT.JM_PATH, pathTable(AT.JROOT, true));
  put(AT.ROOT, directorySector(primaryRootRecords(files, extents, date, erEntry.length)));
  put(AT.CONT, erEntry);
  put(AT.JROOT, directorySector(jolietRootRecords(files, extents, date)));
  files.forEach((f, i) => put(extents[i]!.sector, f.data));
  return image;
}

/** The files as buffers, their names checked: 1-64 characters, no slash or NUL, no duplicates. */
function checkedFiles(given: IsoOptions['files']): FileBytes[] {
  const files = given.map((f) => ({
    name: f.name,
    data: Buffer.isBuffer(f.data) ? f.data : Buffer.from(f.data),
  }));
  const seen = new Set<string>();
  for (const f of files) {
    if (!f.name || f.name.length > 64 || /[/\0]/.test(f.name) || f.name === '.' || f.name === '..') {
      throw new Error(`invalid ISO file name '${f.name}'`);
    }
    if (seen.has(f.name)) throw new Error(`duplicate ISO file name '${f.name}'`);
    seen.add(f.name);
  }
  return files;
}

/** The primary and Joliet volume descriptors and the set terminator. */
function putDescriptors(
  put: (sector: number, data: Buffer) => void,
  volumeId: string,
  totalSectors: number,
  date: Date,
): void {
  // The descriptors embed a bare 34-byte root record (no System Use).
  put(
    AT.PVD,
    volumeDescriptor(1, {
      volumeId,
      totalSectors,
      lPath: AT.L_PATH,
      mPath: AT.M_PATH,
      root: dirRecord(SELF, ROOT_EXTENT, true, date),
      date,
    }),
  );
  put(
    AT.PVD + 1,
    volumeDescriptor(2, {
      volumeId,
      totalSectors,
      lPath: AT.JL_PATH,
      mPath: AT.JM_PATH,
      root: dirRecord(SELF, JROOT_EXTENT, true, date),
      date,
    }),
  );
  const term = Buffer.alloc(SECTOR);
  term[0] = 255;
  term.write('CD001', 1, 'latin1');
  term[6] = 1;
  put(AT.PVD + 2, term);
}

/** Primary tree: level-1 names, Rock Ridge entries carrying the real names. Records sorted by ISO name. */
function primaryRootRecords(files: FileBytes[], extents: Extent[], date: Date, erLength: number): Buffer[] {
  const isoNames = level1Names(files.map((f) => f.name));
  const primary = files
    .map((f, i) => ({ iso: `${isoNames[i]};1`, f, e: extents[i]! }))
    .sort((a, b) => (a.iso < b.iso ? -1 : a.iso > b.iso ? 1 : 0))
    .map(({ iso, f, e }) =>
      dirRecord(
        Buffer.from(iso, 'latin1'),
        e,
        false,
        date,
        Buffer.concat([rr(0x89), px(MODE_FILE, 1), tf(date), nm(f.name)]),
      ),
    );
  return [
    dirRecord(
      SELF,
      ROOT_EXTENT,
      true,
      date,
      Buffer.concat([sp(), rr(0x81), px(MODE_DIR, 2), tf(date), ce(AT.CONT, erLength)]),
    ),
    dirRecord(PARENT, ROOT_EXTENT, true, date, Buffer.concat([rr(0x81), px(MODE_DIR, 2), tf(date)])),
    ...primary,
  ];
}

/** Joliet tree: UCS-2 names, sorted by their code units. */
function jolietRootRecords(files: FileBytes[], extents: Extent[], date: Date): Buffer[] {
  const joliet = files
    .map((f, i) => ({ id: ucs2be(f.name), e: extents[i]! }))
    .sort((a, b) => Buffer.compare(a.id, b.id))
    .map(({ id, e }) => dirRecord(id, e, false, date));
  return [dirRecord(SELF, JROOT_EXTENT, true, date), dirRecord(PARENT, JROOT_EXTENT, true, date), ...joliet];
}
