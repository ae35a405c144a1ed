// What kind of disk image a file is, read from its first bytes: roost needs the format (for the overlay's
// backing store) and the virtual size (an overlay can't be smaller) without running qemu-img. Synchronous reads of
// a few hundred bytes: node:fs/promises (and the readline module it loads) would cost every create more.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UsageError } from '../errors.js';

export interface ImageFacts {
  format: 'qcow2' | 'raw';
  /** Size the guest sees, in bytes. */
  virtualSize: number;
  /** For qcow2: the image's own backing file, if any (roost refuses chains it didn't make). */
  backingFile?: string;
}

const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"

export async function probeImage(path: string): Promise<ImageFacts> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      'IMAGE_UNREADABLE',
      code === 'ENOENT' ? `image '${path}' does not exist` : `cannot read image '${path}' (${code})`,
      { cause: e },
    );
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UsageError('IMAGE_UNREADABLE', `image '${path}' is not a regular file`);
    const head = Buffer.alloc(512);
    const bytesRead = readSync(fd, head, 0, 512, 0);
    if (bytesRead >= 32 && head.readUInt32BE(0) === QCOW2_MAGIC) {
      // qcow2 header: version u32 @4, backing_file_offset u64 @8, backing_file_size u32 @16, size u64 @24.
      const backingOffset = Number(head.readBigUInt64BE(8));
      const backingSize = head.readUInt32BE(16);
      let backingFile: string | undefined;
      if (backingOffset > 0 && backingSize > 0 && backingSize < 4096) {
        const b = Buffer.alloc(backingSize);
        readSync(fd, b, 0, backingSize, backingOffset);
        backingFile = b.toString('utf8');
      }
      return { format: 'qcow2', virtualSize: Number(head.readBigUInt64BE(24)), backingFile };
    }
    if (st.size === 0) throw new UsageError('IMAGE_UNREADABLE', `image '${path}' is empty`);
    return { format: 'raw', virtualSize: st.size };
  } finally {
    closeSync(fd);
  }
}
