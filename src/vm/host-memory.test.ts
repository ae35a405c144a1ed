import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkMemoryFitsHost, hostMemoryMiB, isLocalUri } from './host-memory.js';
import { parseMemoryMiB } from './input.js';

const dir = mkdtempSync(join(tmpdir(), 'roost-meminfo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const meminfo = join(dir, 'meminfo');
// A 24 GiB host.
writeFileSync(meminfo, 'MemTotal:       25165824 kB\nMemFree:         1000000 kB\n');

describe('memory beyond the host', () => {
  it('reads MemTotal', () => {
    expect(hostMemoryMiB(meminfo)).toBe(24 * 1024);
    expect(hostMemoryMiB(join(dir, 'missing'))).toBeUndefined();
  });

  it('refuses more than the host has, with both figures (exit 2)', () => {
    expect(() => checkMemoryFitsHost('qemu:///session', 1024 * 1024, '1T', meminfo)).toThrow(
      'memory 1T (1024.0 GiB) is more than this host has (24.0 GiB)',
    );
    expect(() => checkMemoryFitsHost('qemu:///session', 1024 * 1024, '1T', meminfo)).toThrow(
      expect.objectContaining({
        code: 'MEMORY_EXCEEDS_HOST',
        exitCode: 2,
        hint: expect.stringMatching(/at most 24G/),
      }),
    );
  });

  it('accepts what fits, and does not judge a remote host by this one', () => {
    expect(() =>
      checkMemoryFitsHost('qemu:///session?socket=/run/x', 24 * 1024, '24G', meminfo),
    ).not.toThrow();
    expect(() => checkMemoryFitsHost('qemu+ssh://big/system', 1024 * 1024, '1T', meminfo)).not.toThrow();
    expect(isLocalUri('qemu:///session')).toBe(true);
    expect(isLocalUri('qemu+unix:///system?socket=/x')).toBe(true);
    expect(isLocalUri('qemu+ssh://host/system')).toBe(false);
  });

  it('refuses an absurd size as bad input before any host figure (edit --memory 999999G)', () => {
    expect(() => parseMemoryMiB('999999G')).toThrow(
      expect.objectContaining({
        code: 'INVALID_SIZE',
        exitCode: 2,
        message: "memory '999999G' is too large: give at most 16T",
      }),
    );
    expect(parseMemoryMiB('16T')).toBe(16 * 1024 * 1024);
  });
});
