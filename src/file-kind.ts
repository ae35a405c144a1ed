// What a path that is not a regular file is, said the same way by every check that refuses one (the image probe,
// the CLI/API input checks): a FIFO or device must never be opened for reading, since that can block forever.
import type { Stats } from 'node:fs';

/** 'a FIFO', 'a directory', 'a character device', … for messages. */
export function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}
