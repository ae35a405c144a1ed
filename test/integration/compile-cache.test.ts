// The built CLI's compile cache (src/cli/compile-cache.ts): V8's code for each chunk, written once under the
// user's cache directory and used from then on; bad or stale data is replaced, never trusted, and the commands
// behave the same with or without it. Cached data is code: it is used only from directories and files that no
// one but the user can change, and never by root. Run as the test user with a private HOME.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assertBuilt, CLI } from '../harness/cli.js';
import { harness, runAs } from '../harness/index.js';

const { user } = harness();
const asRoot = process.getuid?.() === 0;

const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

/** A private HOME owned by the test user. */
function freshHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'roost-cc-'));
  homes.push(home);
  chownSync(home, user.uid, user.gid);
  return home;
}

/** Runs the CLI as the test user (stderr in the result, for ROOST_DEBUG_COMPILE_CACHE). */
async function runFull(
  home: string,
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ stdout: string; stderr: string }> {
  assertBuilt();
  const r = await runAs(user, process.execPath, [CLI, ...args], { env: { HOME: home, ...extraEnv } });
  return { stdout: r.stdout, stderr: r.stderr };
}

async function run(home: string, args: string[], extraEnv: Record<string, string> = {}): Promise<string> {
  return (await runFull(home, args, extraEnv)).stdout;
}

/** Runs the CLI as root with the test user's HOME (what `sudo -E roost`, or root's cron with HOME set, does). */
function runAsRoot(home: string, args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ROOST_DEBUG_COMPILE_CACHE: '1' },
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

const debug = { ROOST_DEBUG_COMPILE_CACHE: '1' };

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
  it('is written on the first run, private to the user, and used unchanged by the next', async () => {
    const home = freshHome();
    const version = await run(home, ['--version']);
    const dir = cacheDir(home);
    const files = readdirSync(dir);
    expect(files).toContain(`${mainChunk()}.cache`);
    expect(files.every((f) => f.endsWith('.js.cache'))).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of files) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    expect(statSync(dir).uid).toBe(user.uid);

    const before = mtimes(dir);
    const again = await runFull(home, ['--version'], debug);
    expect(again.stdout).toBe(version);
    expect(again.stderr).not.toContain('rejected');
    // Accepted data is never rewritten: V8 took every file as it was.
    expect(mtimes(dir)).toEqual(before);
  });

  it('replaces data V8 rejects and removes files of chunks this build does not have', async () => {
    const home = freshHome();
    await run(home, ['--version']);
    const dir = cacheDir(home);
    const main = join(dir, `${mainChunk()}.cache`);
    const garbage = Buffer.alloc(statSync(main).size, 0x5a);
    writeFileSync(main, garbage);
    writeFileSync(join(dir, 'chunk-GONE1234.js.cache'), 'from an older build');

    const help = await run(home, ['--help']);
    expect(help).toContain('Usage: roost');
    expect(readFileSync(main).equals(garbage)).toBe(false);
    expect(existsSync(join(dir, 'chunk-GONE1234.js.cache'))).toBe(false);
  });

  it('changes nothing a command prints, and is off with ROOST_DISABLE_COMPILE_CACHE=1', async () => {
    const cached = freshHome();
    await run(cached, ['create', '--help']);
    const withCache = await run(cached, ['create', '--help']);
    const off = freshHome();
    const without = await run(off, ['create', '--help'], { ROOST_DISABLE_COMPILE_CACHE: '1' });
    expect(withCache).toBe(without);
    expect(existsSync(join(off, '.cache'))).toBe(false);
  });

  it('follows XDG_CACHE_HOME', async () => {
    const home = freshHome();
    const xdg = join(home, 'xdg-cache');
    await run(home, ['--version'], { XDG_CACHE_HOME: xdg });
    expect(readdirSync(join(xdg, 'roost', 'compile-cache'))).toHaveLength(1);
    expect(existsSync(join(home, '.cache'))).toBe(false);
  });
});

describe('the CLI compile cache is code: only files of the user, private to them, run', () => {
  /** A home whose cache holds the main chunk's data replaced by garbage of the same size (V8 would reject it). */
  async function homeWithPlantedCache(): Promise<{
    home: string;
    dir: string;
    main: string;
    garbage: Buffer;
  }> {
    const home = freshHome();
    await run(home, ['--version']);
    const dir = cacheDir(home);
    const main = join(dir, `${mainChunk()}.cache`);
    const garbage = Buffer.alloc(statSync(main).size, 0x5a);
    writeFileSync(main, garbage);
    return { home, dir, main, garbage };
  }

  it.runIf(asRoot)('is never read or written by root, even in a HOME that has one', async () => {
    const { home, dir, main, garbage } = await homeWithPlantedCache();
    const before = mtimes(dir);
    // Without the check, root would take the user's data, find it bad and write its own in its place.
    expect(() => runAsRoot(home, ['--version'])).not.toThrow();
    expect(readFileSync(main).equals(garbage)).toBe(true);
    expect(mtimes(dir)).toEqual(before);
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).uid).toBe(user.uid);

    const empty = freshHome();
    runAsRoot(empty, ['--version']);
    expect(existsSync(join(empty, '.cache'))).toBe(false);
  });

  it('is neither read nor written in a directory that others can write', async () => {
    for (const mode of [0o777, 0o770, 0o702]) {
      const { home, dir, main, garbage } = await homeWithPlantedCache();
      chmodSync(dir, mode);
      const before = mtimes(dir);
      const r = await runFull(home, ['--help'], debug);
      expect(r.stdout).toContain('Usage: roost');
      expect(r.stderr).toContain(`compile cache rejected: ${dir} is writable by group or others`);
      expect(readFileSync(main).equals(garbage)).toBe(true);
      expect(mtimes(dir)).toEqual(before);
    }
  });

  it.runIf(asRoot)('is neither read nor written below a directory another user owns', async () => {
    const { home, dir, main, garbage } = await homeWithPlantedCache();
    // The user can still write the cache directory itself, but whoever owns its parent could swap it.
    const parent = join(home, '.cache', 'roost');
    chownSync(parent, 0, 0);
    const before = mtimes(dir);
    const r = await runFull(home, ['--version'], debug);
    expect(r.stderr).toContain(`compile cache rejected: ${parent} is owned by uid 0, not ${user.uid}`);
    expect(readFileSync(main).equals(garbage)).toBe(true);
    expect(mtimes(dir)).toEqual(before);
  });

  it.runIf(asRoot)('does not run a file another user owns, and replaces it with its own', async () => {
    const home = freshHome();
    await run(home, ['--version']);
    const dir = cacheDir(home);
    const main = join(dir, `${mainChunk()}.cache`);
    // Data V8 would accept (written by this very build), owned by someone else: it must not be used.
    chownSync(main, 0, 0);
    chmodSync(main, 0o644);
    const r = await runFull(home, ['--version'], debug);
    expect(r.stderr).toContain(`compile cache rejected: ${main} is owned by uid 0, not ${user.uid}`);
    expect(statSync(main).uid).toBe(user.uid);
    expect(statSync(main).mode & 0o777).toBe(0o600);
  });

  it('does not run a file others can write', async () => {
    const home = freshHome();
    await run(home, ['--version']);
    const main = join(cacheDir(home), `${mainChunk()}.cache`);
    chmodSync(main, 0o666);
    const r = await runFull(home, ['--version'], debug);
    expect(r.stderr).toContain(`compile cache rejected: ${main} is writable by group or others`);
    expect(statSync(main).mode & 0o777).toBe(0o600);
  });
});
