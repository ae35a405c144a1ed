import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  libvirtCheck,
  parseLibvirtVersion,
  parsePasstVersion,
  parseQemuVersion,
  passtCheck,
  programVersion,
  qemuCheck,
} from './programs.js';

const FIX = 'sudo apt-get install x';

describe('version parsing', () => {
  it('reads the libvirt daemon version', () => {
    expect(parseLibvirtVersion('/usr/sbin/libvirtd (libvirt) 11.3.0\n')).toBe('11.3.0');
    expect(parseLibvirtVersion('/usr/sbin/virtqemud (libvirt) 9.0.0')).toBe('9.0.0');
    expect(parseLibvirtVersion('something else')).toBeUndefined();
  });

  it('reads the QEMU version', () => {
    expect(
      parseQemuVersion(
        'QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\nCopyright (c) 2003-2025',
      ),
    ).toBe('10.0.2');
    expect(parseQemuVersion('QEMU emulator version 7.2.0 (Debian 1:7.2+dfsg-7+deb12u6)')).toBe('7.2.0');
  });

  it("handles passt's 'unknown version' (Debian 12's build) and real versions", () => {
    expect(parsePasstVersion('passt unknown version\nCopyright Red Hat\n')).toEqual({ version: null });
    expect(parsePasstVersion('passt 2024_06_24.1ee2eca\nCopyright Red Hat')).toEqual({
      version: '2024_06_24.1ee2eca',
    });
    expect(parsePasstVersion('bash: passt: command not found')).toBeUndefined();
  });

  it('compares versions numerically', () => {
    expect(compareVersions('7.2.0', [7, 2])).toBe(0);
    expect(compareVersions('7.10', [7, 2])).toBeGreaterThan(0);
    expect(compareVersions('7.1.9', [7, 2])).toBeLessThan(0);
    expect(compareVersions('10.0.2', '9.9.9')).toBeGreaterThan(0);
  });
});

describe('program checks', () => {
  it('fails with the fix when a program is missing or does not run', () => {
    expect(libvirtCheck(undefined, FIX)).toMatchObject({ id: 'libvirt', status: 'fail', fix: FIX });
    expect(qemuCheck(new Error('EACCES'), FIX)).toMatchObject({ status: 'fail', fix: FIX });
    expect(passtCheck(undefined, FIX)).toMatchObject({ id: 'passt', status: 'fail', fix: FIX });
  });

  it('reports versions when installed', () => {
    const lv = libvirtCheck(
      { path: '/usr/sbin/libvirtd', output: '/usr/sbin/libvirtd (libvirt) 11.3.0' },
      FIX,
    );
    expect(lv).toMatchObject({ status: 'ok', detail: '/usr/sbin/libvirtd 11.3.0' });
    const p = passtCheck({ path: '/usr/bin/passt', output: 'passt unknown version\n' }, FIX);
    expect(p.status).toBe('ok');
    expect(p.detail).toContain('unknown version');
  });

  it('fails QEMU older than 7.2 and accepts 7.2', () => {
    const old = qemuCheck(
      { path: '/usr/bin/qemu-system-x86_64', output: 'QEMU emulator version 7.1.0' },
      FIX,
    );
    expect(old).toMatchObject({ status: 'fail', fix: FIX });
    expect(old.detail).toContain('≥ 7.2');
    const ok = qemuCheck({ path: '/usr/bin/qemu-system-x86_64', output: 'QEMU emulator version 7.2.0' }, FIX);
    expect(ok.status).toBe('ok');
  });
});

describe('programVersion', () => {
  it('reads the version of a program that prints it only when unbuffered (Debian 13 passt)', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/roost-version-');
    const prog = `${dir}/passt`;
    // Like that passt: the text reaches the pipe only when stdout is unbuffered (stdbuf -o0 says so in _STDBUF_O).
    writeFileSync(
      prog,
      '#!/usr/bin/env python3\nimport os, sys\nif os.environ.get("_STDBUF_O") == "0":\n  sys.stdout.write("passt 0.0~git20250503.587980c-2+deb13u1\\n"); sys.stdout.flush()\nos._exit(0)\n',
      { mode: 0o755 },
    );
    const r = await programVersion(prog);
    expect(r.path).toBe(prog);
    expect(parsePasstVersion(r.output)).toEqual({ version: '0.0~git20250503.587980c-2+deb13u1' });
  });
});
