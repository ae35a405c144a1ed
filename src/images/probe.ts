// What kind of disk image a file is, read from its first bytes: roost needs the format (for the overlay's
// backing store) and the virtual size (an overlay can't be smaller) without running qemu-img — and it must not
// hand QEMU something that is not an image. Images are data, not instructions: a qcow2 whose header makes QEMU
// open other host files (qcow2.ts), a file that is no disk image at all (`--image ~/.ssh/id_ed25519` would give
// the guest that file), or another format is refused with a message saying why.
//
// The file is never opened blindly: stat first (a FIFO or a device is refused before any open), then open with
// O_NONBLOCK (a FIFO swapped in between stat and open does not block either) and check the open file again.
// Synchronous reads of the first few KiB: node:fs/promises (and the readline module it loads) would cost every
// create more.
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readSync,
  realpathSync,
  statSync,
  type Stats,
} from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { ImageRefusedError, Qcow2Error } from './errors.js';
import { isQcow2, parseQcow2Header, qcow2HeaderSpan } from './qcow2.js';
import { detectOtherFormat, hasDiskSignature, isIsoImage, RAW_SIGNATURE_SPAN } from './signatures.js';
import { kindOf } from '../file-kind.js';

export interface ImageFacts {
  format: 'qcow2' | 'raw';
  /** Size the guest sees, in bytes. */
  virtualSize: number;
  /** For qcow2: the image's own backing file, if any (roost refuses chains it didn't make). */
  backingFile?: string;
}

const SECTOR = 512;
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** Format and virtual size of a qcow2 or raw disk image; refuses anything else (ImageRefusedError). */
export async function probeImage(path: string): Promise<ImageFacts> {
  return withRegularFile(path, 'image', (fd, st) => {
    const head = readAt(fd, Math.min(st.size, Math.max(RAW_SIGNATURE_SPAN, qcow2HeaderSpan(9))), 0);
    if (isQcow2(head)) return probeQcow2(path, fd, st, head);
    const other = detectOtherFormat(head);
    if (other) {
      throw new ImageRefusedError(
        'IMAGE_FORMAT_UNSUPPORTED',
        `image '${path}' is ${other.what}, not qcow2 or raw`,
        {
          hint: other.hint ?? `convert it first: qemu-img convert -O qcow2 '${path}' image.qcow2`,
        },
      );
    }
    return probeRaw(path, st, head);
  });
}

/**
 * For a file the user hands roost as a VM's base image (create --image PATH, image import, a catalogue
 * download): a probe that also refuses a qcow2 with a backing file. Roost makes the only chains it uses (a VM's
 * overlay on a cached image); a base image of its own pointing anywhere else — inside the cache or out — would
 * let a file roost never checked into the guest, so no backing file is accepted at all.
 */
export async function assertUsableImage(
  path: string,
  opts: { copiedFirst?: boolean } = {},
): Promise<ImageFacts> {
  if (!opts.copiedFirst) assertOnlyYoursToChange(path);
  const facts = await probeImage(path);
  if (facts.backingFile !== undefined) {
    throw new ImageRefusedError(
      'IMAGE_HAS_BACKING_FILE',
      `image '${path}' is an overlay on '${facts.backingFile}': not a standalone image`,
      { hint: `flatten it first: qemu-img convert -O qcow2 '${path}' flat.qcow2` },
    );
  }
  return facts;
}

/**
 * A base image stays in use: QEMU reads its header again at every start of every VM on it. If another user can
 * change the file (they own it, it is group- or world-writable, or it sits in a directory they can write to and
 * replace it in), they can turn it into a qcow2 whose external data file is one of *your* files after roost
 * checked it. Such a file is refused; `roost image import` makes a private copy (pass `copiedFirst` for that).
 */
export function assertOnlyYoursToChange(path: string): void {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  const gid = process.getgid?.();
  const problems = [
    ...changeableBy(statOrThrow(path, 'image'), uid, gid, 'the file'),
    ...changeableBy(statOrThrow(dirname(path), 'image'), uid, gid, 'its directory'),
  ];
  const real = realpathSync(path);
  if (dirname(real) !== dirname(resolvePath(path))) {
    problems.push(...changeableBy(statOrThrow(dirname(real), 'image'), uid, gid, `the directory of ${real}`));
  }
  if (problems.length) {
    throw new ImageRefusedError(
      'IMAGE_NOT_PRIVATE',
      `image '${path}' can be changed by other users (${problems.join('; ')}): QEMU rereads it at every start, so they could point it at your files`,
      {
        hint: `use a private copy: roost image import '${path}' --as NAME, then roost create … --image NAME`,
      },
    );
  }
}

function changeableBy(st: Stats, uid: number, gid: number | undefined, what: string): string[] {
  const out: string[] = [];
  if (st.uid !== uid && st.uid !== 0) out.push(`${what} belongs to uid ${st.uid}`);
  const sticky = st.isDirectory() && (st.mode & 0o1000) !== 0;
  if (!sticky && st.mode & 0o002) out.push(`${what} is world-writable`);
  if (!sticky && st.mode & 0o020 && st.gid !== gid) out.push(`${what} is writable by group ${st.gid}`);
  return out;
}

/** For --kernel and --initrd: a regular, non-empty file (never a FIFO or device, which would block QEMU). */
export function assertRegularFile(path: string, what: string): string {
  withRegularFile(path, what, () => undefined);
  return path;
}

/** For --iso: a regular file with an ISO 9660 (or UDF) volume descriptor at 32 KiB. */
export function assertIsoImage(path: string): string {
  withRegularFile(path, 'ISO image', (fd, st) => {
    if (!isIsoImage(readAt(fd, Math.min(st.size, 0x8006), 0))) {
      throw new ImageRefusedError(
        'ISO_NOT_AN_ISO',
        `'${path}' is not an ISO image (no ISO 9660 volume descriptor)`,
        {
          hint: 'give an installer .iso file; for a disk image use --image',
        },
      );
    }
  });
  return path;
}

function probeQcow2(path: string, fd: number, st: Stats, head: Buffer): ImageFacts {
  try {
    const clusterBits = head.length >= 24 ? head.readUInt32BE(20) : 0;
    const span = Math.min(st.size, qcow2HeaderSpan(clusterBits));
    const header = parseQcow2Header(span > head.length ? readAt(fd, span, 0) : head);
    return { format: 'qcow2', virtualSize: header.virtualSize, backingFile: header.backingFile };
  } catch (e) {
    if (!(e instanceof Qcow2Error)) throw e;
    const code =
      e.problem === 'external-data'
        ? 'IMAGE_EXTERNAL_DATA_FILE'
        : e.problem === 'unsupported'
          ? 'IMAGE_QCOW2_UNSUPPORTED'
          : 'IMAGE_QCOW2_INVALID';
    throw new ImageRefusedError(code, `image '${path}' refused: ${e.message}`, {
      hint:
        e.opts.hint ??
        (e.problem === 'external-data'
          ? `if you trust it, make a self-contained copy: qemu-img convert -O qcow2 '${path}' flat.qcow2`
          : 'use an image from a trusted source, or convert it: qemu-img convert -O qcow2 SRC image.qcow2'),
    });
  }
}

function probeRaw(path: string, st: Stats, head: Buffer): ImageFacts {
  const notImage = (why: string) =>
    new ImageRefusedError('IMAGE_NOT_AN_IMAGE', `'${path}' is not a disk image: ${why}`, {
      hint: 'give a qcow2 or raw disk image (a cloud image); an installer ISO goes to --iso',
    });
  if (st.size === 0) throw notImage('it is empty');
  if (st.size % SECTOR !== 0)
    throw notImage(`its size (${st.size} bytes) is not a whole number of 512-byte sectors`);
  if (!hasDiskSignature(head)) {
    throw notImage('it is not qcow2, and as a raw disk it has no partition table, boot sector or filesystem');
  }
  return { format: 'raw', virtualSize: st.size };
}

/** Runs `use` on an open descriptor of `path` once it is known to be a regular, non-empty file. */
function withRegularFile<T>(path: string, what: string, use: (fd: number, st: Stats) => T): T {
  checkRegular(path, what, statOrThrow(path, what));
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (e) {
    throw unreadable(path, what, e);
  }
  try {
    const st = fstatSync(fd);
    checkRegular(path, what, st);
    return use(fd, st);
  } finally {
    closeSync(fd);
  }
}

function statOrThrow(path: string, what: string): Stats {
  try {
    return statSync(path);
  } catch (e) {
    throw unreadable(path, what, e);
  }
}

function checkRegular(path: string, what: string, st: Stats): void {
  if (!st.isFile()) {
    throw new ImageRefusedError(
      'FILE_NOT_REGULAR',
      `${what} '${path}' is not a regular file (${kindOf(st)})`,
      {
        hint: `give the path of a ${what} file`,
      },
    );
  }
  if (st.size === 0) throw new ImageRefusedError('IMAGE_NOT_AN_IMAGE', `${what} '${path}' is empty`);
}

function unreadable(path: string, what: string, e: unknown): ImageRefusedError {
  const code = (e as NodeJS.ErrnoException).code;
  return new ImageRefusedError(
    'IMAGE_UNREADABLE',
    code === 'ENOENT' ? `${what} '${path}' does not exist` : `cannot read ${what} '${path}' (${code})`,
    { cause: e },
  );
}

/** Up to `length` bytes from `position` (fewer at the end of the file). */
function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}
