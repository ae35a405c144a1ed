// The VM files of `roost apply`, read and checked; or, for a file whose text is exactly what an earlier apply of
// it parsed, that parse again, kept in the user's cache. Re-applying an unchanged file is the everyday case (a
// repository's file, applied again and again), and parsing it is most of what such an apply does besides reading
// the VMs: each new process loads the YAML parser and zod and runs them cold. A kept parse is used only when
//  - the text is the same, compared whole (no hash that a crafted file could be made to match);
//  - the same build of roost made it (`build`, a hash of the CLI bundle: scripts/bundle-cli.mjs), so a roost whose
//    schema or limits differ parses afresh;
//  - the kept file is a regular file of this user that no one else may write (as the compile cache's files).
// Only a file that parses without a problem is kept: one with problems is parsed, and reported, every time. The
// file itself is opened and checked as every read does (file-text.ts): the same refusals with the same messages.
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readVmText } from '../declarative/file-text.js';
import type { FileVm } from '../declarative/parse.js';
import { fnv1a, writePrivateFile } from '../private-file.js';

/** Where parses are kept, and the build they must come from. */
export interface ParsedFileCache {
  dir: string;
  build: string;
}

interface Kept {
  build: string;
  /** The file's absolute path. */
  file: string;
  text: string;
  vms: { spec: FileVm['spec']; line: number }[];
}

/** The VMs of `file` (named as the user gave it; `abs` its absolute path), as parseVmFile gives them. */
export async function readApplyFile(file: string, abs: string, cache?: ParsedFileCache): Promise<FileVm[]> {
  const text = readVmText(file);
  const path = cache && join(cache.dir, `${fnv1a(abs).toString(16).padStart(8, '0')}.json`);
  const kept = path === undefined ? undefined : readKept(path);
  if (kept && kept.build === cache!.build && kept.file === abs && kept.text === text) {
    return kept.vms.map(({ spec, line }) => ({ spec, file, line }));
  }
  const { parseVmFile } = await import('../declarative/parse.js');
  const vms = parseVmFile(file, text);
  if (path !== undefined) {
    const vmsKept = vms.map(({ spec, line }) => ({ spec, line }));
    keep(path, { build: cache!.build, file: abs, text, vms: vmsKept });
  }
  return vms;
}

/** The kept parse when the file is this user's own, writable by no one else; O_NOFOLLOW: never a symlink. */
function readKept(path: string): Kept | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== process.geteuid?.() || (st.mode & 0o022) !== 0) return undefined;
    const kept = JSON.parse(readFileSync(fd, 'utf8')) as Partial<Kept> | null;
    return typeof kept?.text === 'string' && Array.isArray(kept.vms) ? (kept as Kept) : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Keeps a parse; a failure (a read-only or full home) only costs the next apply a parse. */
function keep(path: string, kept: Kept): void {
  try {
    writePrivateFile(path, JSON.stringify(kept), { makeParent: true });
  } catch {
    // nothing lost but time
  }
}
