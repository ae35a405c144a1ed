// A full filesystem (or a used-up quota) while the image layer writes. The errno error itself travels up — the
// CLI and the web API report it as NO_SPACE with the path and the fix — so it must name the file being written:
// Node names none on a failed write(2), and a failed copy names its source first.
import { withPath } from '../errors.js';

export function isNoSpace(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return e instanceof Error && (code === 'ENOSPC' || code === 'EDQUOT');
}

/** `e`, naming `path` (the file written) when it is a full filesystem's, or any errno error without a path. */
export function namingWrittenFile(e: unknown, path: string): unknown {
  if (isNoSpace(e)) (e as NodeJS.ErrnoException).path = path;
  return withPath(e, path);
}
