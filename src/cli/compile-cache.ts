// The CLI's compile cache: V8's compiled code for roost's own chunks, kept in the user's cache directory, so that
// the next `roost` neither parses nor compiles them again (DESIGN §7: `roost ls` within 40 ms of `node -e 0`).
//
// Why: parsing and compiling roost's JavaScript was the largest share of what `roost ls` adds to Node's own
// start-up (counted with callgrind: 263 M instructions for `roost ls --json` over 50 VMs, 220 M with this cache,
// against 90 M for an empty script). Node 22 has the same thing built in (module.enableCompileCache); Node 20
// does not.
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
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join, sep } from 'node:path';
import { Script } from 'node:vm';

type Compile = (this: NodeModule, content: string, filename: string) => unknown;

/** Where the cache of one roost installation lives, for this Node: one directory per chunks directory. */
function compileCacheDir(chunksDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const cacheHome = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  const install = fnv1a(chunksDir).toString(16).padStart(8, '0');
  return join(cacheHome, 'roost', 'compile-cache', `node-${process.version}-${process.arch}-${install}`);
}

/**
 * Compiles every file under `chunksDir` through V8's code cache from now on. Off when
 * $ROOST_DISABLE_COMPILE_CACHE is set (to anything but an empty string or 0).
 */
export function enableCompileCache(chunksDir: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env.ROOST_DISABLE_COMPILE_CACHE && env.ROOST_DISABLE_COMPILE_CACHE !== '0') return;
  const cacheDir = compileCacheDir(chunksDir, env);
  const prefix = chunksDir.endsWith(sep) ? chunksDir : chunksDir + sep;
  const proto = Module.prototype as unknown as { _compile: Compile };
  const compileAsNode = proto._compile;
  const missing: { script: Script; file: string }[] = [];

  proto._compile = function (content, filename) {
    if (!filename.startsWith(prefix)) return compileAsNode.call(this, content, filename);
    const file = join(cacheDir, `${basename(filename)}.cache`);
    const cachedData = readIfThere(file);
    const script = new Script(Module.wrap(content), { filename, cachedData });
    if (!cachedData || script.cachedDataRejected) missing.push({ script, file });
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    const require = createRequire(filename);
    return wrapper.call(this.exports, this.exports, require, this, filename, dirname(filename));
  };

  process.once('exit', () => {
    if (missing.length > 0) writeCache(cacheDir, prefix, missing);
  });
}

function readIfThere(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

// Each file is written whole under a temporary name and renamed into place: a roost running at the same time
// reads either nothing or a complete file. Files of chunks this build no longer has (an older build of the same
// installation) are removed while we are here.
function writeCache(cacheDir: string, prefix: string, missing: { script: Script; file: string }[]): void {
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    for (const { script, file } of missing) {
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      renameSync(tmp, file);
    }
    const current = new Set(readdirSync(prefix).map((name) => `${name}.cache`));
    for (const name of readdirSync(cacheDir)) {
      if (name.endsWith('.cache') && !current.has(name)) rmSync(join(cacheDir, name), { force: true });
    }
  } catch {
    // A read-only or full home: run without the cache.
  }
}

/** 32-bit FNV-1a of a string's UTF-16 code units: a short, stable name for a path (not a security hash). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
