// The built CLI's compile cache (src/cli/compile-cache.ts): V8's code for each chunk, written once under the
// user's cache directory and used from then on; bad or stale data is replaced, never trusted, and the commands
// behave the same with or without it. Run as this process's user with a private HOME.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assertBuilt, CLI } from '../harness/cli.js';

const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

function freshHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'roost-cc-'));
  homes.push(home);
  return home;
}

function run(home: string, args: string[], extraEnv: Record<string, string> = {}): string {
  assertBuilt();
  return execFileSync(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...extraEnv },
    encoding: 'utf8',
  });
}

/** The one cache directory under HOME (one per Node version and installation). */
function cacheDir(home: string): string {
  const root = join(home, '.cache', 'roost', 'compile-cache');
  const dirs = readdirSync(root);
  expect(dirs).toHaveLength(1);
  expect(dirs[0]).toMatch(
    new RegExp(`^node-${process.version.replace(/\./g, '\\.')}-${process.arch}-[0-9a-f]{8}$`),
  );
  return join(root, dirs[0]!);
}

/** The chunk the executable loads first: the CLI itself. */
function mainChunk(): string {
  const m = /require\("\.\/chunks\/(main-[A-Z0-9]+\.js)"\)/.exec(readFileSync(CLI, 'utf8'));
  if (!m) throw new Error(`${CLI} does not load a main chunk`);
  return m[1]!;
}

const mtimes = (dir: string) =>
  Object.fromEntries(readdirSync(dir).map((f) => [f, statSync(join(dir, f)).mtimeMs]));

describe('the CLI compile cache', () => {
  it('is written on the first run, private to the user, and used unchanged by the next', () => {
    const home = freshHome();
    const version = run(home, ['--version']);
    const dir = cacheDir(home);
    const files = readdirSync(dir);
    expect(files).toContain(`${mainChunk()}.cache`);
    expect(files.every((f) => f.endsWith('.js.cache'))).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of files) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);

    const before = mtimes(dir);
    expect(run(home, ['--version'])).toBe(version);
    // Accepted data is never rewritten: V8 took every file as it was.
    expect(mtimes(dir)).toEqual(before);
  });

  it('replaces data V8 rejects and removes files of chunks this build does not have', () => {
    const home = freshHome();
    run(home, ['--version']);
    const dir = cacheDir(home);
    const main = join(dir, `${mainChunk()}.cache`);
    const garbage = Buffer.alloc(statSync(main).size, 0x5a);
    writeFileSync(main, garbage);
    writeFileSync(join(dir, 'chunk-GONE1234.js.cache'), 'from an older build');

    const help = run(home, ['--help']);
    expect(help).toContain('Usage: roost');
    expect(readFileSync(main).equals(garbage)).toBe(false);
    expect(existsSync(join(dir, 'chunk-GONE1234.js.cache'))).toBe(false);
  });

  it('changes nothing a command prints, and is off with ROOST_DISABLE_COMPILE_CACHE=1', () => {
    const cached = freshHome();
    run(cached, ['create', '--help']);
    const withCache = run(cached, ['create', '--help']);
    const off = freshHome();
    const without = run(off, ['create', '--help'], { ROOST_DISABLE_COMPILE_CACHE: '1' });
    expect(withCache).toBe(without);
    expect(existsSync(join(off, '.cache'))).toBe(false);
  });

  it('follows XDG_CACHE_HOME', () => {
    const home = freshHome();
    const xdg = join(home, 'xdg-cache');
    run(home, ['--version'], { XDG_CACHE_HOME: xdg });
    expect(readdirSync(join(xdg, 'roost', 'compile-cache'))).toHaveLength(1);
    expect(existsSync(join(home, '.cache'))).toBe(false);
  });
});
