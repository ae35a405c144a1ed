import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RoostError, UsageError } from '../errors.js';
import { roostPaths } from '../paths.js';
import { checkAgentPlan } from './agent-copy.js';
import { checkLocalSide, parseCopyOperands, parseOperand, sumBytes, type CopyPlan } from './copy.js';
import { literalRemoteSource, remoteOperand, scpArgs } from './scp.js';
import type { SshTarget } from './ssh.js';

function errorOf(fn: () => unknown): RoostError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RoostError) return e;
    throw e;
  }
  throw new Error('expected a RoostError');
}

const tmp = mkdtempSync(join(tmpdir(), 'roost-cp-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const paths = roostPaths({ HOME: '/home/u' });
const target: SshTarget = {
  alias: 'web.roost',
  host: '127.0.0.1',
  port: 2222,
  user: 'debian',
  identityFile: '/home/u/.local/share/roost/ssh/id_ed25519',
};

describe('parseOperand', () => {
  it('reads NAME:PATH when a colon comes before any slash, as scp does', () => {
    expect(parseOperand('web:/tmp/x')).toEqual({ kind: 'remote', vm: 'web', path: '/tmp/x' });
    expect(parseOperand('web:')).toEqual({ kind: 'remote', vm: 'web', path: '' });
    expect(parseOperand('web:a:b')).toEqual({ kind: 'remote', vm: 'web', path: 'a:b' });
  });

  it('reads a path with a slash before its colon, or without a colon, as local', () => {
    expect(parseOperand('./a:b')).toEqual({ kind: 'local', path: './a:b' });
    expect(parseOperand('/x/web:y')).toEqual({ kind: 'local', path: '/x/web:y' });
    expect(parseOperand('-rf')).toEqual({ kind: 'local', path: '-rf' });
  });

  it('refuses an empty VM name, an empty path, and a VM name no VM can have', () => {
    expect(errorOf(() => parseOperand(':x')).code).toBe('CP_NO_VM');
    expect(errorOf(() => parseOperand('')).code).toBe('CP_EMPTY_PATH');
    expect(errorOf(() => parseOperand('we\u001b[2Jb:/x')).code).toBe('INVALID_NAME');
  });
});

describe('parseCopyOperands', () => {
  it('plans an upload: local sources made absolute, the VM path as given', () => {
    const plan = parseCopyOperands(['a.txt', '-n', 'web:/tmp/d/'], { cwd: '/work' });
    expect(plan).toEqual({
      vm: 'web',
      direction: 'to-guest',
      sources: ['/work/a.txt', '/work/-n'],
      destination: '/tmp/d/',
      recursive: false,
      preserve: true,
    });
  });

  it("plans a download; an empty VM path is the login's home", () => {
    const plan = parseCopyOperands(['web:', 'web:x y', '.'], { cwd: '/w', recursive: true, preserve: false });
    expect(plan).toMatchObject({
      direction: 'from-guest',
      sources: ['.', 'x y'],
      destination: '/w',
      recursive: true,
      preserve: false,
    });
  });

  it.each([
    [['web:/a', 'db:/b'], 'CP_BOTH_REMOTE'],
    [['web:/a', 'web:/b'], 'CP_BOTH_REMOTE'],
    [['a', 'b'], 'CP_NO_REMOTE'],
    [['web:/a', './b', '.'], 'CP_MIXED_SOURCES'],
    [['web:/a', 'db:/b', '.'], 'CP_SEVERAL_VMS'],
    [['web:/a'], 'CP_USAGE'],
  ])('refuses %j with %s (a usage error: exit 2)', (args, code) => {
    const e = errorOf(() => parseCopyOperands(args));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.code).toBe(code);
    expect(e.exitCode).toBe(2);
  });
});

describe('checkLocalSide', () => {
  const file = join(tmp, 'f.txt');
  writeFileSync(file, 'hello');
  const dir = join(tmp, 'd');
  mkdirSync(dir);
  const upload = (sources: string[], recursive = false): CopyPlan => ({
    vm: 'web',
    direction: 'to-guest',
    sources,
    destination: '/tmp/',
    recursive,
    preserve: true,
  });
  const download = (sources: string[], destination: string): CopyPlan => ({
    ...upload([]),
    direction: 'from-guest',
    sources,
    destination,
  });

  it('accepts files, and directories with -r', () => {
    expect(() => checkLocalSide(upload([file]))).not.toThrow();
    expect(() => checkLocalSide(upload([file, dir], true))).not.toThrow();
  });

  it('refuses a missing source, a dangling link, a directory without -r and a FIFO', () => {
    expect(errorOf(() => checkLocalSide(upload([join(tmp, 'nope')]))).code).toBe('CP_SOURCE_NOT_FOUND');
    const dangling = join(tmp, 'dangling');
    symlinkSync(join(tmp, 'gone'), dangling);
    expect(errorOf(() => checkLocalSide(upload([dangling]))).message).toMatch(/symbolic link to nothing/);
    const e = errorOf(() => checkLocalSide(upload([dir])));
    expect([e.code, e.hint]).toEqual(['CP_IS_DIRECTORY', 'copy it with its contents: roost cp -r …']);
    const fifo = join(tmp, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(errorOf(() => checkLocalSide(upload([fifo]))).message).toMatch(/not a regular file \(a FIFO\)/);
  });

  it('refuses a download into a missing directory, or of several files into a file', () => {
    expect(() => checkLocalSide(download(['/etc/hosts'], join(tmp, 'new-file')))).not.toThrow();
    expect(errorOf(() => checkLocalSide(download(['/a'], join(tmp, 'no', 'f')))).code).toBe(
      'CP_DEST_PARENT_MISSING',
    );
    expect(errorOf(() => checkLocalSide(download(['/a', '/b'], file))).code).toBe('CP_DEST_NOT_DIRECTORY');
    expect(errorOf(() => checkLocalSide(download(['/a', '/b'], join(tmp, 'x')))).code).toBe(
      'CP_DEST_NOT_DIRECTORY',
    );
    expect(() => checkLocalSide(download(['/a', '/b'], dir))).not.toThrow();
    const fifo = join(tmp, 'dest-fifo');
    execFileSync('mkfifo', [fifo]);
    expect(errorOf(() => checkLocalSide(download(['/a'], fifo))).message).toMatch(
      /not a regular file \(a FIFO\)/,
    );
  });
});

describe('scpArgs', () => {
  const plan = (over: Partial<CopyPlan>): CopyPlan => ({
    vm: 'web',
    direction: 'to-guest',
    sources: ['/w/a'],
    destination: '/tmp/',
    recursive: false,
    preserve: true,
    ...over,
  });

  it("uses SFTP mode, the VM's port, host key alias, known_hosts, key and user; -p by default", () => {
    const args = scpArgs(target, paths, plan({}));
    expect(args.slice(0, 3)).toEqual(['-s', '-P', '2222']);
    expect(args).toContain('HostKeyAlias=web.roost');
    expect(args).toContain('UserKnownHostsFile=/home/u/.local/share/roost/ssh/known_hosts');
    expect(args).toContain('StrictHostKeyChecking=accept-new');
    expect(args).toContain('User=debian');
    expect(args.slice(-4)).toEqual(['-p', '--', '/w/a', '127.0.0.1:/tmp/']);
    expect(
      scpArgs(target, paths, plan({ preserve: false, recursive: true }), { quiet: true }).slice(-5),
    ).toEqual(['-r', '-q', '--', '/w/a', '127.0.0.1:/tmp/']);
  });

  it('passes hostile paths as operands after --, never as options, a remote source never as a glob', () => {
    const hostile = parseCopyOperands(['-oProxyCommand=touch /tmp/pwned', "web:-oX=$(id)'; rm -rf ~ #"], {
      cwd: '/w',
    });
    const up = scpArgs(target, paths, hostile);
    const ops = up.slice(up.indexOf('--') + 1);
    expect(ops).toEqual(['/w/-oProxyCommand=touch /tmp/pwned', "127.0.0.1:-oX=$(id)'; rm -rf ~ #"]);
    const down = scpArgs(target, paths, parseCopyOperands(['web:/tmp/*[a]?\\b c', '.'], { cwd: '/w' }));
    expect(down.slice(down.indexOf('--') + 1)).toEqual(['127.0.0.1:/tmp/\\*\\[a]\\?\\\\b c', '/w']);
  });

  it('reaches a VM of another host through its ssh -W ProxyCommand, the operands still after --', () => {
    const via = {
      argv: ['ssh', '-W', '127.0.0.1:2222', '--', 'lab'],
      proxyCommand: "'ssh' '-W' '127.0.0.1:2222' '--' 'lab'",
    };
    const args = scpArgs({ ...target, alias: 'web.lab.roost', via }, paths, plan({}));
    expect(args).toContain(`ProxyCommand=${via.proxyCommand}`);
    expect(args).toContain('HostKeyAlias=web.lab.roost');
    expect(args.indexOf(`ProxyCommand=${via.proxyCommand}`)).toBeLessThan(args.indexOf('--'));
    expect(args.slice(-3)).toEqual(['--', '/w/a', '127.0.0.1:/tmp/']);
  });

  it('puts an IPv6 address in brackets', () => {
    expect(remoteOperand('fd00::5', '/x')).toBe('[fd00::5]:/x');
    expect(remoteOperand('192.0.2.4', '/x')).toBe('192.0.2.4:/x');
  });

  it('makes scp itself start ssh with the path nowhere on its command line (SFTP mode)', () => {
    // scp -S runs another program as ssh: this one records the argv scp gives it and exits.
    const log = join(tmp, 'fake-ssh.argv');
    const fake = join(tmp, 'fake-ssh');
    writeFileSync(fake, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > '${log}'\nexit 1\n`, {
      mode: 0o755,
    });
    const path = '/tmp/$(touch /tmp/pwned) x;y';
    const args = scpArgs(target, paths, parseCopyOperands([`web:${path}`, tmp], {}), { quiet: true });
    spawnSync('scp', ['-S', fake, ...args], { stdio: 'ignore', timeout: 10_000 });
    const argv = readFileSync(log, 'utf8').split('\n');
    expect(argv).toContain('sftp'); // the subsystem, not a remote command line
    expect(argv).toContain('127.0.0.1');
    expect(argv.join('\n')).not.toContain('pwned');
  });
});

describe('literalRemoteSource', () => {
  it('escapes SFTP glob characters and the backslash, nothing else', () => {
    expect(literalRemoteSource('/a b/*.log')).toBe('/a b/\\*.log');
    expect(literalRemoteSource("it's [1]?\\")).toBe("it's \\[1]\\?\\\\");
    expect(literalRemoteSource('~/x')).toBe('~/x');
  });
});

describe('checkAgentPlan', () => {
  const base: CopyPlan = {
    vm: 'web',
    direction: 'to-guest',
    sources: ['/w/a'],
    destination: '/tmp/',
    recursive: false,
    preserve: true,
  };
  it('refuses directories and relative guest paths before anything is copied', () => {
    expect(() => checkAgentPlan(base)).not.toThrow();
    expect(errorOf(() => checkAgentPlan({ ...base, recursive: true })).code).toBe('CP_AGENT_NO_DIRECTORIES');
    expect(errorOf(() => checkAgentPlan({ ...base, destination: '.' })).code).toBe('CP_AGENT_RELATIVE_PATH');
    expect(
      errorOf(() => checkAgentPlan({ ...base, direction: 'from-guest', sources: ['x'], destination: '/w' }))
        .code,
    ).toBe('CP_AGENT_RELATIVE_PATH');
  });
});

describe('sumBytes', () => {
  it('counts regular files, walking directories', () => {
    const d = join(tmp, 'tree');
    mkdirSync(join(d, 'sub'), { recursive: true });
    writeFileSync(join(d, 'a'), 'x'.repeat(10));
    writeFileSync(join(d, 'sub', 'b'), 'y'.repeat(5));
    expect(sumBytes([d, join(tmp, 'f.txt'), join(tmp, 'missing')])).toBe(20);
  });
});
