// One way to write a file roost keeps for its user: private (0600, in a 0700 folder when it makes one) and whole
// or not at all — written beside its final name and renamed over it, so a reader (a login starting units, ssh
// reading its config, a second roost process) never sees half a file.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface PrivateWriteOptions {
  /** Make the parent folder (0700) when it is missing. Off where the caller has checked the folder itself. */
  makeParent?: boolean;
}

/** Writes `data` to `path` atomically with mode 0600; the temporary file is removed when anything fails. */
export function writePrivateFile(
  path: string,
  data: string | Uint8Array,
  opts: PrivateWriteOptions = {},
): void {
  if (opts.makeParent) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // Per process: two roost processes writing the same file must not share (and truncate) one temporary file.
  const tmp = `${path}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  try {
    // 'wx': never write through something already at the temporary name.
    writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * A short, stable file name for a path, for the caches roost keeps beside such files: 32-bit FNV-1a of the
 * string's UTF-16 code units. Not a security hash: whoever names a file by it keeps the full path inside the
 * file and compares it.
 */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
