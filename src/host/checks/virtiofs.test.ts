import { describe, expect, it } from 'vitest';
import { parseVirtiofsdVersion, virtiofsCheck } from './virtiofs.js';

const FIX = 'sudo apt-get install virtiofsd';

describe('virtiofsCheck', () => {
  it('reports virtiofs available with the version of Debian 13 virtiofsd', () => {
    const r = virtiofsCheck({ path: '/usr/libexec/virtiofsd', output: 'virtiofsd backend 1.13.1\n' }, FIX);
    expect(r).toMatchObject({ id: 'virtiofs', status: 'ok' });
    expect(r.detail).toBe('virtiofs available: virtiofsd 1.13.1 (/usr/libexec/virtiofsd)');
    expect(r.fix).toBeUndefined();
  });

  it('warns with the install command when virtiofsd is missing (shared folders are optional)', () => {
    expect(virtiofsCheck(undefined, FIX)).toMatchObject({ status: 'warn', fix: FIX });
  });

  it('warns when virtiofsd does not run', () => {
    const r = virtiofsCheck(new Error('spawn EACCES'), FIX);
    expect(r).toMatchObject({ status: 'warn', fix: FIX });
    expect(r.detail).toContain('EACCES');
  });
});

describe('parseVirtiofsdVersion', () => {
  it('reads both output styles and nothing else', () => {
    expect(parseVirtiofsdVersion('virtiofsd backend 1.13.1')).toBe('1.13.1');
    expect(parseVirtiofsdVersion('virtiofsd 1.5.0')).toBe('1.5.0');
    expect(parseVirtiofsdVersion('QEMU emulator version 10.0.2')).toBeUndefined();
  });
});
