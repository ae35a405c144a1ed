// Reading a VM file's text from disk: a regular file no larger than MAX_FILE_BYTES (checked before it is read, so
// a device or a huge file is refused without reading it), named in messages as the user named it. Apart from the
// parser (parse.ts) so that a reader that has the file parsed already (src/vm/apply-read.ts) loads no YAML.
import { readFileSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';

/** A VM file is a few hundred lines; a megabyte is a mistake or an attack. */
export const MAX_FILE_BYTES = 1024 ** 2;

export function readVmText(file: string): string {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile())
      throw new UsageError('NOT_A_FILE', `${file} is not a regular file`, {
        hint: 'give the path of a VM file (YAML)',
      });
    size = st.size;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      'FILE_UNREADABLE',
      `${file} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`,
    );
  }
  if (size > MAX_FILE_BYTES) {
    throw new UsageError(
      'FILE_TOO_LARGE',
      `${file} is ${size} bytes: a VM file is at most ${MAX_FILE_BYTES}`,
    );
  }
  return readFileSync(file, 'utf8');
}
