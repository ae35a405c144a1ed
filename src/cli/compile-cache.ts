// The CLI's compile cache: V8's compiled code for roost's own chunks, kept in the user's cache directory, so that
// the next `roost` neither parses nor compiles them again (BENCHMARKS.md: the start-up target for `roost ls`).
//
// Why: parsing and compiling roost's JavaScript was the largest share of what `roost ls` adds to Node's own
// start-up. Node 22 has the same thing built in (module.enableCompileCache); Node 20 does not.
//
// Why a chunk's file name is its key: the bundle's chunks are named after a hash of their content
// (scripts/bundle-cli.mjs), so a new build has new names and no stale code can sit under an old one. V8 checks
// the rest itself (its own version, its flags, the source's length) and rejects data that does not fit; such a
// chunk compiles as usual and its data is written anew. The entry file (bin.ts) has a fixed name: it is tiny and
// never cached. (A chunk edited by hand in dist/, to the same length, would keep running its old code: delete the
// cache directory, or set ROOST_DISABLE_COMPILE_CACHE=1, when doing that.)
//
// Data is written at exit, once per chunk that had none: after the command ran, so it holds every function the
// command compiled on its way, not only each chunk's top level. Nothing here may fail a command: an error
// reading or writing the cache only costs the time the cache would have saved.
//
// Why the owner checks: cached data is code this process runs. It is used only from a directory chain that no
// one but this user can change (each directory roost creates is a real directory owned by the euid and not
// group- or world-writable; the cache home above them is owned by the euid or root and not writable by others),
// and only from files owned by the euid and not writable by others. Never as root: root running roost with
// another user's HOME or XDG_CACHE_HOME must not run bytecode that user wrote. Anything else compiles from
// source, reading nothing and writing nothing; ROOST_DEBUG_COMPILE_CACHE=1 says why on stderr.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  type Stats,
} from 'node:fs';
import Module, { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join, sep } from 'node:path';
import { Script } from 'node:vm';
import { fnv1a, writePrivateFile } from '../private-file.js';

type Compile = (this: NodeModule, content: string, filename: string) => unknown;

interface CacheLocation {
  /** $XDG_CACHE_HOME or ~/.cache: may exist already, owned by the user or by root. */
  home: string;
  /** The directories roost creates below it, outermost first; the last one holds the files. */
  own: string[];
}

/** Where the cache of one roost installation lives, for this Node: one directory per chunks directory. */
function compileCacheLocation(chunksDir: string, env: NodeJS.ProcessEnv): CacheLocation {
  const home = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  const install = fnv1a(chunksDir).toString(16).padStart(8, '0');
  const roost = join(home, 'roost');
  const all = join(roost, 'compile-cache');
  return { home, own: [roost, all, join(all, `node-${process.version}-${process.arch}-${install}`)] };
}

/** Why a directory may not hold code this process runs; undefined when it may. */
function untrustedDir(path: string, st: Stats, euid: number, rootMayOwn: boolean): string | undefined {
  if (!st.isDirectory()) return `${path} is not a directory`;
  if (st.uid !== euid && !(rootMayOwn && st.uid === 0))
    return `${path} is owned by uid ${st.uid}, not ${euid}`;
  if ((st.mode & 0o022) !== 0)
    return `${path} is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

/**
 * Why the cache must not be used at all (root, or a directory someone else can change); undefined when it may.
 * Missing directories are fine (they are created 0700 when the cache is written, and checked again then).
 */
function untrustedLocation(loc: CacheLocation, euid: number): string | undefined {
  if (euid === 0) return 'running as root';
  const paths = [loc.home, ...loc.own];
  for (let i = 0; i < paths.length; i++) {
    let st: Stats;
    try {
      // The cache home may be a symbolic link the user made (to another disk); roost's own directories not.
      st = i === 0 ? statSync(paths[i]!) : lstatSync(paths[i]!);
    } catch {
      return undefined; // the rest does not exist yet
    }
    const why = untrustedDir(paths[i]!, st, euid, i === 0);
    if (why) return why;
  }
  return undefined;
}

/** Why a cache file may not be run; undefined when it may. Checked on the open descriptor (no race). */
function untrustedFile(file: string, st: Stats, euid: number): string | undefined {
  if (!st.isFile()) return `${file} is not a regular file`;
  if (st.uid !== euid) return `${file} is owned by uid ${st.uid}, not ${euid}`;
  if ((st.mode & 0o022) !== 0) return `${file} is writable by group or others`;
  return undefined;
}

function debugLog(env: NodeJS.ProcessEnv): (why: string) => void {
  if (!env.ROOST_DEBUG_COMPILE_CACHE || env.ROOST_DEBUG_COMPILE_CACHE === '0') return () => {};
  return (why) => {
    try {
      process.stderr.write(`roost: compile cache rejected: ${why}\n`);
    } catch {
      // a closed stderr: nothing to tell
    }
  };
}

/**
 * Compiles every file under `chunksDir` through V8's code cache from now on. Off when
 * $ROOST_DISABLE_COMPILE_CACHE is set (to anything but an empty string or 0).
 */
export function enableCompileCache(chunksDir: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env.ROOST_DISABLE_COMPILE_CACHE && env.ROOST_DISABLE_COMPILE_CACHE !== '0') return;
  const euid = process.geteuid?.() ?? 0;
  const loc = compileCacheLocation(chunksDir, env);
  const rejected = debugLog(env);
  const why = untrustedLocation(loc, euid);
  if (why) return rejected(why);
  const cacheDir = loc.own[loc.own.length - 1]!;
  const prefix = chunksDir.endsWith(sep) ? chunksDir : chunksDir + sep;
  const proto = Module.prototype as unknown as { _compile: Compile };
  const compileAsNode = proto._compile;
  const missing: { script: Script; file: string }[] = [];

  proto._compile = function (content, filename) {
    if (!filename.startsWith(prefix)) return compileAsNode.call(this, content, filename);
    const file = join(cacheDir, `${basename(filename)}.cache`);
    const cachedData = readOwnFile(file, euid, rejected);
    const script = new Script(Module.wrap(content), { filename, cachedData });
    if (!cachedData || script.cachedDataRejected) missing.push({ script, file });
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    const require = createRequire(filename);
    return wrapper.call(this.exports, this.exports, require, this, filename, dirname(filename));
  };

  process.once('exit', () => {
    if (missing.length > 0) writeCache(loc, euid, prefix, missing, rejected);
  });
}

/** The file's bytes when it exists and passes the checks; O_NOFOLLOW: a symlink is never followed. */
function readOwnFile(file: string, euid: number, rejected: (why: string) => void): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') rejected(`${file} is a symbolic link`);
    return undefined;
  }
  try {
    const why = untrustedFile(file, fstatSync(fd), euid);
    if (why) {
      rejected(why);
      return undefined;
    }
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

// Each file is written whole under a temporary name and renamed into place: a roost running at the same time
// reads either nothing or a complete file. Files of chunks this build no longer has (an older build of the same
// installation) are removed while we are here.
// The directories are checked again after mkdir: one that appeared since start-up must pass the same checks.
function writeCache(
  loc: CacheLocation,
  euid: number,
  prefix: string,
  missing: { script: Script; file: string }[],
  rejected: (why: string) => void,
): void {
  const cacheDir = loc.own[loc.own.length - 1]!;
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    const why = untrustedLocation(loc, euid);
    if (why) return rejected(why);
    for (const { script, file } of missing) {
      writePrivateFile(file, script.createCachedData());
    }
    const current = new Set(readdirSync(prefix).map((name) => `${name}.cache`));
    for (const name of readdirSync(cacheDir)) {
      if (name.endsWith('.cache') && !current.has(name)) rmSync(join(cacheDir, name), { force: true });
    }
  } catch {
    // A read-only or full home: run without the cache.
  }
}
