import { describe, expect, it } from 'vitest';
import { hasSubuidRange, sharedFoldersCheck, sharedFolderSupport } from './shared-folders.js';

describe('shared-folders check', () => {
  it('says 9p, why not virtiofs and where a virtiofsd comes from, on a host without one', () => {
    const c = sharedFoldersCheck(11_003_000, undefined, false);
    expect(c).toMatchObject({ id: 'shared-folders', status: 'ok' });
    expect(c.detail).toMatch(/^9p \(virtio-9p, served by QEMU as you\); virtiofs is faster but no virtiofsd/);
    expect(c.detail).toMatch(/Debian 12 has none: build the Rust crate \(cargo install virtiofsd/);
  });

  it('says virtiofs where libvirt >= 10 and a virtiofsd are there; warns without a subuid range', () => {
    expect(sharedFoldersCheck(11_003_000, '/usr/libexec/virtiofsd', true)).toMatchObject({
      status: 'ok',
      detail: 'virtiofs (/usr/libexec/virtiofsd, libvirt 11.3.0)',
    });
    expect(sharedFoldersCheck(11_003_000, '/usr/libexec/virtiofsd', false)).toMatchObject({ status: 'warn' });
  });

  it('keeps 9p on a libvirt too old to run virtiofsd for the session', () => {
    const c = sharedFoldersCheck(9_000_000, '/usr/libexec/virtiofsd', true);
    expect(c.detail).toMatch(/^9p .*libvirt 9\.0\.0 cannot run virtiofsd for the session connection/);
    expect(sharedFolderSupport(10_000_000, '/x/virtiofsd').best).toBe('virtiofs');
  });

  it('reads /etc/subuid by user name or uid', () => {
    const text = 'ada:100000:65536\n1001:165536:65536\n';
    expect(hasSubuidRange('ada', 1000, () => text)).toBe(true);
    expect(hasSubuidRange('bob', 1001, () => text)).toBe(true);
    expect(hasSubuidRange('eve', 1002, () => text)).toBe(false);
    expect(
      hasSubuidRange('ada', 1000, () => {
        throw new Error('ENOENT');
      }),
    ).toBe(false);
  });
});
