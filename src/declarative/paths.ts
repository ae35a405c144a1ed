// Paths in a VM file are relative to the file (as in a repository, wherever apply runs from); `~/` is the home
// directory. A catalogue name (a bare word such as debian-12) is not a path and stays as it is.
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { VmSpec } from './schema.js';

function looksLikePath(ref: string): boolean {
  return ref.includes('/') || /\.(qcow2|img|raw)$/i.test(ref);
}

function absolute(path: string, dir: string, home: string): string {
  if (path === '~' || path.startsWith('~/')) return join(home, path.slice(1));
  return isAbsolute(path) ? path : resolve(dir, path);
}

/** The spec with its paths made absolute against `dir` (the file's directory). */
export function withAbsolutePaths(spec: VmSpec, dir: string, home = homedir()): VmSpec {
  const abs = (p: string) => absolute(p, dir, home);
  const out: VmSpec = { ...spec };
  if (typeof spec.image === 'string' && looksLikePath(spec.image)) out.image = abs(spec.image);
  if (typeof spec.image === 'object' && looksLikePath(spec.image.ref))
    out.image = { ...spec.image, ref: abs(spec.image.ref) };
  if (spec.kernel) {
    out.kernel = { ...spec.kernel, path: abs(spec.kernel.path) };
    if (spec.kernel.initrd !== undefined) out.kernel.initrd = abs(spec.kernel.initrd);
  }
  if (spec.mounts !== undefined) out.mounts = spec.mounts.map((m) => ({ ...m, host: abs(m.host) }));
  if (spec.cloudInit?.sshKey !== undefined)
    out.cloudInit = { ...spec.cloudInit, sshKey: abs(spec.cloudInit.sshKey) };
  return out;
}

/**
 * The fields whose paths are relative (neither absolute nor ~/…), with the path: a pasted file has no directory
 * to resolve them against, so they are refused there (src/vm/apply-text.ts) rather than guessed.
 */
export function relativePaths(spec: VmSpec): { key: string; path: string }[] {
  const rel = (p: string) => !(p === '~' || p.startsWith('~/') || isAbsolute(p));
  const found: { key: string; path: string }[] = [];
  const ref = typeof spec.image === 'string' ? spec.image : spec.image?.ref;
  if (ref !== undefined && looksLikePath(ref) && rel(ref)) found.push({ key: 'image', path: ref });
  if (spec.kernel && rel(spec.kernel.path)) found.push({ key: 'kernel.path', path: spec.kernel.path });
  if (spec.kernel?.initrd !== undefined && rel(spec.kernel.initrd))
    found.push({ key: 'kernel.initrd', path: spec.kernel.initrd });
  for (const m of spec.mounts ?? []) if (rel(m.host)) found.push({ key: 'mounts.host', path: m.host });
  const key = spec.cloudInit?.sshKey;
  if (key !== undefined && rel(key)) found.push({ key: 'cloudInit.sshKey', path: key });
  return found;
}
