import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ensurePrivateRuntimeDir,
  findServers,
  parseTokenFile,
  runtimeDir,
  writeOpenerPage,
  writeServerFiles,
} from './runtime-files.js';

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'roost-rt-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const mode = (p: string) => lstatSync(p).mode & 0o777;

describe('runtime files of roost web', () => {
  it('lives in $XDG_RUNTIME_DIR/roost, else ~/.cache/roost/run', () => {
    expect(runtimeDir({ XDG_RUNTIME_DIR: '/run/user/1000', HOME: '/h' })).toBe('/run/user/1000/roost');
    expect(runtimeDir({ HOME: '/h' })).toBe('/h/.cache/roost/run');
  });

  it('writes the token as a curl header line in a 0600 file in a 0700 dir, and removes it', () => {
    const dir = join(base, 'roost');
    const token = 'T'.repeat(43);
    const files = writeServerFiles(dir, { port: 8123, origin: 'http://127.0.0.1:8123', token, unix: null });
    expect(mode(dir)).toBe(0o700);
    expect(files.tokenFile).toBe(join(dir, 'web-8123.token'));
    expect(mode(files.tokenFile)).toBe(0o600);
    expect(readFileSync(files.tokenFile, 'utf8')).toBe(`Authorization: Bearer ${token}\n`);
    expect(parseTokenFile(readFileSync(files.tokenFile, 'utf8'))).toBe(token);
    expect(mode(files.recordFile)).toBe(0o600);
    const record = JSON.parse(readFileSync(files.recordFile, 'utf8')) as Record<string, unknown>;
    expect(record).toEqual({
      port: 8123,
      origin: 'http://127.0.0.1:8123',
      pid: process.pid,
      tokenFile: files.tokenFile,
      unix: null,
    });
    expect(JSON.stringify(record)).not.toContain(token);
    expect(findServers(dir)).toEqual([record]);
    files.remove();
    expect(existsSync(files.tokenFile)).toBe(false);
    expect(existsSync(files.recordFile)).toBe(false);
  });

  it('tightens a group- or world-open dir of ours; refuses a symlink', () => {
    const open = join(base, 'open');
    mkdirSync(open, { mode: 0o755 });
    ensurePrivateRuntimeDir(open);
    expect(mode(open)).toBe(0o700);
    const link = join(base, 'link');
    symlinkSync(open, link);
    expect(() => ensurePrivateRuntimeDir(link)).toThrow(/not a directory/);
  });

  it('replaces a planted symlink instead of writing through it', () => {
    const dir = join(base, 'roost');
    mkdirSync(dir, { mode: 0o700 });
    const victim = join(base, 'victim');
    writeFileSync(victim, 'keep');
    symlinkSync(victim, join(dir, 'web-8123.token'));
    writeServerFiles(dir, { port: 8123, origin: 'http://127.0.0.1:8123', token: 'x', unix: null });
    expect(readFileSync(victim, 'utf8')).toBe('keep');
    expect(lstatSync(join(dir, 'web-8123.token')).isFile()).toBe(true);
  });

  it('forgets (and removes) the record of a server whose process is gone', () => {
    const dir = join(base, 'roost');
    const files = writeServerFiles(dir, {
      port: 8124,
      origin: 'http://127.0.0.1:8124',
      token: 'x',
      unix: null,
    });
    const record = JSON.parse(readFileSync(files.recordFile, 'utf8')) as { pid: number };
    writeFileSync(files.recordFile, JSON.stringify({ ...record, pid: 2 ** 22 + 1 }));
    expect(findServers(dir)).toEqual([]);
    expect(existsSync(files.recordFile)).toBe(false);
    expect(existsSync(files.tokenFile)).toBe(false);
  });

  it('writes an opener page (0600) that redirects to the link, which never needs to be in argv', () => {
    const url = 'http://127.0.0.1:8123/#login=abc</script>';
    const page = writeOpenerPage(join(base, 'roost'), url);
    expect(mode(page)).toBe(0o600);
    expect(page).not.toContain('abc');
    const html = readFileSync(page, 'utf8');
    expect(html).toContain('location.replace("http://127.0.0.1:8123/#login=abc\\u003c/script>")');
  });
});
