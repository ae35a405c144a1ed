// Image names: what a user types (`--image debian-12`, `roost image rm dev`) and what becomes a file name in the
// cache (NAME.qcow2, NAME.json, …). One pattern, checked wherever a name enters — the CLI, the web API, the
// store and every cache function that turns a name into a path — so that no name can climb out of the cache
// directory ('..', '/', a NUL) or hide as a dot file. A leaf module: no zod, cheap to load.
import { isAbsolute, relative, resolve } from 'node:path';
import { ImageNameError } from './errors.js';

/** 1–63 lowercase letters, digits, '.', '_', '-', starting with a letter or digit. */
export const IMAGE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function isImageName(name: string): boolean {
  return IMAGE_NAME.test(name);
}

/** `name` if it is a valid image name; else an ImageNameError (a usage error: exit 2, HTTP 400). */
export function checkImageName(name: string): string {
  if (!isImageName(name)) throw new ImageNameError(name);
  return name;
}

/** `dir/file`, asserted to stay directly inside `dir` (a second guard behind checkImageName). */
export function pathInside(dir: string, file: string): string {
  const full = resolve(dir, file);
  const rel = relative(resolve(dir), full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.includes('/'))
    throw new ImageNameError(file);
  return full;
}
