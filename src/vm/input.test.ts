import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import {
  checkCreateInput,
  checkInputFile,
  checkKernelCmdline,
  checkLoginName,
  checkVmName,
  checkVmRef,
  hasUnsafeChars,
  parseCpus,
  parseDiskBytes,
  parseDiskGrowth,
  parseMemoryMiB,
  parseNetworks,
  quoted,
  randomMac,
} from './input.js';

function errorOf(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error('expected a UsageError');
}

describe('VM names', () => {
  it.each(['a', 'web1', 'A.b_c-d', '9lives', 'x'.repeat(63)])('accepts %s', (n) =>
    expect(checkVmName(n)).toBe(n),
  );
  it.each(['', '-x', '.x', 'a b', 'a/b', 'ä', 'x'.repeat(64), 'a;rm -rf'])('refuses %j', (n) => {
    const e = errorOf(() => checkVmName(n));
    expect(e.code).toBe('INVALID_NAME');
    expect(e.exitCode).toBe(2);
  });
});

describe('sizes', () => {
  it('reads memory in MiB, binary units, a plain number as MiB', () => {
    expect(parseMemoryMiB('512M')).toBe(512);
    expect(parseMemoryMiB('2G')).toBe(2048);
    expect(parseMemoryMiB('2GiB')).toBe(2048);
    expect(parseMemoryMiB('1.5G')).toBe(1536);
    expect(parseMemoryMiB('1024')).toBe(1024);
  });
  it('reads disks in bytes, a plain number as GiB', () => {
    expect(parseDiskBytes('20G')).toBe(20 * 1024 ** 3);
    expect(parseDiskBytes('20')).toBe(20 * 1024 ** 3);
    expect(parseDiskBytes('100MB')).toBe(100 * 1024 ** 2);
  });
  it("reads an edit's disk as a size to grow to, or with a + as an amount to grow by", () => {
    expect(parseDiskGrowth('40G')).toEqual({ to: 40 * 1024 ** 3 });
    expect(parseDiskGrowth('+2G')).toEqual({ by: 2 * 1024 ** 3 });
    expect(parseDiskGrowth(' +512M ')).toEqual({ by: 512 * 1024 ** 2 });
    for (const t of ['+', '+-1G', '++2G', '+0', '+65T', '2G+']) {
      expect(errorOf(() => parseDiskGrowth(t)).code, t).toBe('INVALID_SIZE');
    }
  });
  it.each(['', 'big', '2X', '-1G', '0', '1..5G'])('refuses %j', (t) => {
    expect(errorOf(() => parseMemoryMiB(t)).code).toBe('INVALID_SIZE');
  });
  it('refuses a memory too small to boot', () => {
    expect(errorOf(() => parseMemoryMiB('16M')).message).toMatch(/at least 64M/);
  });
});

describe('cpus', () => {
  it('accepts whole numbers', () => expect(parseCpus('2')).toBe(2));
  it.each(['0', '1.5', 'two', '-1', '9999'])('refuses %j', (t) =>
    expect(errorOf(() => parseCpus(t)).code).toBe('INVALID_CPUS'),
  );
});

describe('hostile input at the entry points', () => {
  it('quotes what the user typed on one line: controls and bidi overrides escaped, long text cut', () => {
    expect(quoted('a\nb')).toBe(`'a\\nb'`);
    expect(quoted('a\u001b[31m')).toBe(`'a\\x1b[31m'`);
    expect(quoted('abc\u202etxt')).toBe(`'abc\\u202etxt'`);
    expect(quoted('x'.repeat(300))).toBe(`'${'x'.repeat(80)}…'`);
    expect(errorOf(() => checkVmName('a\nb')).message).toMatch(/^invalid VM name 'a\\nb': /);
    expect(errorOf(() => parseMemoryMiB('1\n2')).message).not.toContain('\n');
  });

  it.each(['web', 'my vm', '..', 'ä-vm', 'x'.repeat(255)])('looks up %j', (n) =>
    expect(checkVmRef(n)).toBe(n),
  );
  it.each(['', 'a/b', '../x', 'a\nb', 'a\u0000b', 'a\u202eb', 'a\u200bb', 'x'.repeat(256)])(
    'refuses to look up %j',
    (n) => {
      const e = errorOf(() => checkVmRef(n));
      expect(e.code).toBe('INVALID_NAME');
      expect(e.exitCode).toBe(2);
      expect(hasUnsafeChars(e.message)).toBe(false);
    },
  );

  it('caps memory and disks at sizes no host has', () => {
    expect(parseMemoryMiB('16T')).toBe(16 * 1024 ** 2);
    expect(errorOf(() => parseMemoryMiB('17T')).message).toMatch(/too large: give at most 16T/);
    expect(parseDiskBytes('64T')).toBe(64 * 1024 ** 4);
    expect(errorOf(() => parseDiskBytes('65T')).message).toMatch(/too large: give at most 64T/);
    expect(errorOf(() => parseMemoryMiB('99999999999G')).message).toMatch(/far too large/);
  });

  it('takes a regular file, or leaves a missing one to the caller', () => {
    expect(checkInputFile(import.meta.filename, 'kernel')).toBe(import.meta.filename);
    expect(checkInputFile('/nonexistent/vmlinuz', 'kernel')).toBe('/nonexistent/vmlinuz');
  });
  it.each([
    ['a directory', () => tmpdir(), /kernel '.*' is not a regular file \(a directory\)/],
    ['a device', () => '/dev/zero', /kernel '\/dev\/zero' is not a regular file \(a character device\)/],
    ['a FIFO', () => fifo(), /kernel '.*' is not a regular file \(a FIFO\)/],
    ['a newline', () => '/tmp/a\nb', /invalid kernel path '\/tmp\/a\\nb'/],
    ['an empty path', () => '', /invalid kernel path ''/],
  ])('refuses %s without opening it', (_label, path, message) => {
    const e = errorOf(() => checkInputFile(path(), 'kernel'));
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(message);
  });
  it('refuses a file over the size given', () => {
    expect(errorOf(() => checkInputFile(import.meta.filename, 'cloud-init', 10)).code).toBe('FILE_TOO_LARGE');
  });

  it.each(['debian', 'ubuntu', '_svc', 'a-b_1'])('takes login name %j', (u) =>
    expect(checkLoginName(u)).toBe(u),
  );
  it.each(['', 'Root', 'bob\nHost *', '-oProxyCommand=x', 'a b', 'x'.repeat(33)])(
    'refuses login name %j',
    (u) => expect(errorOf(() => checkLoginName(u)).code).toBe('INVALID_USER'),
  );

  it('refuses a kernel command line with a control character or too long', () => {
    expect(checkKernelCmdline('console=ttyS0 quiet')).toBe('console=ttyS0 quiet');
    expect(errorOf(() => checkKernelCmdline('a\nb')).code).toBe('INVALID_CMDLINE');
    expect(errorOf(() => checkKernelCmdline('x'.repeat(5000))).code).toBe('INVALID_CMDLINE');
  });

  it('checks every field of a create request that becomes a path, XML or config', () => {
    const ok = { name: 'web', kernel: import.meta.filename, cmdline: 'quiet', sshUser: 'debian' };
    expect(() => checkCreateInput(ok)).not.toThrow();
    expect(errorOf(() => checkCreateInput({ ...ok, name: '../x' })).code).toBe('INVALID_NAME');
    expect(errorOf(() => checkCreateInput({ ...ok, iso: '/dev/zero' })).code).toBe('NOT_A_FILE');
    expect(errorOf(() => checkCreateInput({ ...ok, initrd: tmpdir() })).code).toBe('NOT_A_FILE');
    expect(errorOf(() => checkCreateInput({ ...ok, sshKey: tmpdir() })).code).toBe('NOT_A_FILE');
    expect(errorOf(() => checkCreateInput({ ...ok, cloudInit: fifo() })).code).toBe('NOT_A_FILE');
    expect(errorOf(() => checkCreateInput({ ...ok, sshUser: 'a\nb' })).code).toBe('INVALID_USER');
    const many = Array.from({ length: 65 }, (_, i) => `${20000 + i}:80`);
    expect(errorOf(() => checkCreateInput({ ...ok, ports: many })).code).toBe('INVALID_PORT');
  });
});

let fifoPath: string | undefined;
function fifo(): string {
  if (!fifoPath) {
    fifoPath = join(mkdtempSync(join(tmpdir(), 'roost-input-')), 'fifo');
    execFileSync('mkfifo', [fifoPath]);
  }
  return fifoPath;
}
afterAll(() => {
  if (fifoPath) rmSync(dirname(fifoPath), { recursive: true, force: true });
});

describe('--network', () => {
  it('defaults to one user NIC, and keeps the order given', () => {
    expect(parseNetworks(undefined, false)).toEqual([{ kind: 'user', ports: [] }]);
    expect(parseNetworks([], true)).toEqual([{ kind: 'user', ports: [] }]);
    expect(parseNetworks(['bridge=virbr0', 'user'], true)).toEqual([
      { kind: 'bridge', bridge: 'virbr0' },
      { kind: 'user', ports: [] },
    ]);
  });

  it('refuses unknown modes, a NIC given twice, and --port without a user NIC', () => {
    expect(errorOf(() => parseNetworks('nat', false)).code).toBe('INVALID_NETWORK');
    expect(errorOf(() => parseNetworks('bridge=a;b', false)).code).toBe('INVALID_NETWORK');
    expect(errorOf(() => parseNetworks(['user', 'user'], false)).code).toBe('INVALID_NETWORK');
    expect(errorOf(() => parseNetworks('bridge=virbr0', true)).code).toBe('CONFLICTING_OPTIONS');
  });
});

describe('randomMac', () => {
  it("is a MAC in QEMU's locally administered range", () => {
    for (let i = 0; i < 50; i++) expect(randomMac()).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
  });
});
