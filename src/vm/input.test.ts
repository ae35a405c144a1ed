import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { checkVmName, parseCpus, parseDiskBytes, parseMemoryMiB, parseNetworks, randomMac } from './input.js';

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
