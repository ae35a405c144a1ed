import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bridgeConfCheck,
  bridgeHelperCheck,
  helperHazard,
  inspectBridgeConf,
  inspectBridgeHelper,
  parseBridgeConf,
  type FileFacts,
  type OwnerFacts,
  type StatFs,
} from './bridge.js';
import { packagedHelper } from '../testing.js';

const dir = mkdtempSync(join(tmpdir(), 'roost-doctor-bridge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const INSTALL = 'sudo apt-get install qemu-system-common';

function file(name: string, mode: number, text = '#!/bin/sh\n'): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  chmodSync(p, mode); // explicit: writeFileSync's mode is filtered by the umask
  return p;
}

describe('bridge helper', () => {
  it('reads the setuid bit of the first helper that exists', () => {
    const plain = file('helper-plain', 0o755);
    const setuid = file('helper-setuid', 0o4755);
    expect(inspectBridgeHelper([join(dir, 'missing'), plain, setuid])).toMatchObject({ path: plain });
    expect(inspectBridgeHelper([setuid])!.mode & 0o4000).toBe(0o4000);
    expect(inspectBridgeHelper([plain])!.mode & 0o4000).toBe(0);
  });

  it('warns with the chmod fix when the helper is not setuid', () => {
    const plain = file('helper-plain2', 0o755);
    const facts = packagedHelper(0o100755, plain); // as installed by the package: root's
    const r = bridgeHelperCheck(facts, INSTALL);
    expect(r).toMatchObject({ id: 'bridge-helper', status: 'warn', fix: `sudo chmod u+s ${plain}` });
    expect(r.detail).toContain('is not setuid');
  });

  it('is ok when the helper is setuid root', () => {
    const setuid = file('helper-setuid2', 0o4755);
    const facts = packagedHelper(0o104755, setuid);
    const r = bridgeHelperCheck(facts, INSTALL);
    expect(r.status).toBe('ok');
    expect(r.fix).toBeUndefined();
  });

  it('never proposes setuid for a helper another user owns, and fails a setuid one', () => {
    const plain = bridgeHelperCheck({ ...packagedHelper(0o100755), uid: 1000 }, INSTALL);
    expect(plain.status).toBe('warn');
    expect(plain.detail).toContain('owned by uid 1000, not root');
    expect(plain.fix).not.toMatch(/chmod u\+s|chown/);
    const setuid = bridgeHelperCheck({ ...packagedHelper(0o104755), uid: 1000 }, INSTALL);
    expect(setuid.status).toBe('fail');
    expect(setuid.detail).toContain('anyone who can change it can become root');
  });

  it('warns with the install command when no helper exists', () => {
    expect(inspectBridgeHelper([join(dir, 'nope')])).toBeUndefined();
    expect(bridgeHelperCheck(undefined, INSTALL)).toMatchObject({ status: 'warn', fix: INSTALL });
  });
});

describe('bridge.conf', () => {
  it('parses allow, deny and include lines, ignoring comments and blank lines', () => {
    const conf = parseBridgeConf(
      [
        '# roost: bridges session VMs may join',
        '',
        'allow virbr0',
        '  allow br-lab   # the lab bridge',
        '#allow virbr9',
        'deny br-prod',
        'include /etc/qemu/extra.conf',
        'nonsense line',
      ].join('\n'),
    );
    expect(conf).toEqual({
      allow: ['virbr0', 'br-lab'],
      deny: ['br-prod'],
      include: ['/etc/qemu/extra.conf'],
    });
  });

  it('warns with mkdir + tee + chmod when the file is missing', () => {
    const path = join(dir, 'etc-qemu', 'bridge.conf');
    expect(inspectBridgeConf(path)).toBeNull();
    const r = bridgeConfCheck(null, path);
    expect(r).toMatchObject({ id: 'bridge-conf', status: 'warn' });
    expect(r.fix).toBe(
      `sudo mkdir -p ${join(dir, 'etc-qemu')} && echo 'allow virbr0' | sudo tee -a ${path} && sudo chmod 644 ${path}`,
    );
  });

  it('reports the allowed bridges', () => {
    const path = file('ok.conf', 0o644, 'allow virbr0\nallow br1 # lab\n');
    const r = bridgeConfCheck(inspectBridgeConf(path), path);
    expect(r).toMatchObject({ status: 'ok', detail: 'allows virbr0, br1' });
  });

  it('warns when it allows other bridges but not virbr0 (or denies it)', () => {
    const path = file('other.conf', 0o644, 'allow br-lab\n');
    const r = bridgeConfCheck(inspectBridgeConf(path), path);
    expect(r).toMatchObject({
      status: 'warn',
      fix: `echo 'allow virbr0' | sudo tee -a ${path} && sudo chmod 644 ${path}`,
    });
    expect(r.detail).toBe(
      'allows br-lab, not virbr0: --network bridge=virbr0 is refused (the bridges it allows work)',
    );
    const all = file('all.conf', 0o644, 'allow all\n');
    expect(bridgeConfCheck(inspectBridgeConf(all), all).status).toBe('ok');
    const denied = file('denied.conf', 0o644, 'allow all\ndeny virbr0\n');
    expect(bridgeConfCheck(inspectBridgeConf(denied), denied).status).toBe('warn');
  });

  it('warns when only comments allow anything', () => {
    const path = file('commented.conf', 0o644, '# allow virbr0\n');
    const r = bridgeConfCheck(inspectBridgeConf(path), path);
    expect(r).toMatchObject({ status: 'warn' });
    expect(r.detail).toContain("no 'allow' line");
    expect(r.fix).toBe(`echo 'allow virbr0' | sudo tee -a ${path} && sudo chmod 644 ${path}`);
  });

  it('warns with chmod 644 when the file is not world-readable', () => {
    const path = file('private.conf', 0o600, 'allow virbr0\n');
    const r = bridgeConfCheck(inspectBridgeConf(path), path);
    expect(r).toMatchObject({ status: 'warn', fix: `sudo chmod 644 ${path}` });
    expect(r.detail).toContain('mode 600');
  });
});

describe('helperHazard: what makes a setuid helper unsafe', () => {
  const ok = packagedHelper();
  const withDir = (i: number, d: Partial<OwnerFacts>) => ({
    ...ok,
    dirs: ok.dirs!.map((x, j) => (j === i ? { ...x, ...d } : x)),
  });
  it('accepts the packaged helper', () => {
    expect(helperHazard(ok)).toBeUndefined();
  });
  it.each([
    ['a symbolic link', { ...ok, symlink: true }, /is a symbolic link/],
    ['not a regular file', { ...ok, mode: 0o40755 }, /not a regular file/],
    ['owned by a user', { ...ok, uid: 1000 }, /owned by uid 1000, not root/],
    ['group-writable', { ...ok, mode: 0o100775 }, /writable by group or others \(mode 775\)/],
    ['world-writable', { ...ok, mode: 0o100757 }, /writable by group or others/],
    ['in a user-owned directory', withDir(0, { uid: 1000 }), /\/usr\/lib\/qemu is owned by uid 1000/],
    [
      'under a world-writable directory',
      withDir(2, { mode: 0o40777 }),
      /\/usr is writable by users other than root/,
    ],
    ['under a directory a group can write', withDir(1, { mode: 0o42775, gid: 50 }), /\/usr\/lib is writable/],
    ['with an unchecked chain', { ...ok, dirs: undefined }, /could not be checked/],
  ])('refuses a helper %s', (_what, facts, why) => {
    expect(helperHazard(facts as FileFacts)).toMatch(why);
  });
  it('allows a directory only root and the root group can write', () => {
    expect(helperHazard(withDir(1, { mode: 0o40775, gid: 0 }))).toBeUndefined();
  });
});

describe('inspectBridgeHelper reads with lstat', () => {
  /** A fake file system: path → [type, mode, uid, gid]; a link's target in `links`. */
  function fakeFs(
    entries: Record<string, [string, number, number, number]>,
    links: Record<string, string> = {},
  ): StatFs {
    const st = (p: string) => {
      const e = entries[p];
      if (!e) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
      const [type, mode, uid, gid] = e;
      return { mode, uid, gid, isFile: () => type === 'f', isSymbolicLink: () => type === 'l' };
    };
    return { lstat: st, stat: (p) => st(links[p] ?? p), realpath: (p) => links[p] ?? p };
  }
  const dirs: Record<string, [string, number, number, number]> = {
    '/': ['d', 0o40755, 0, 0],
    '/usr': ['d', 0o40755, 0, 0],
    '/usr/lib': ['d', 0o40755, 0, 0],
    '/usr/lib/qemu': ['d', 0o40755, 0, 0],
    '/home': ['d', 0o40755, 0, 0],
    '/home/eve': ['d', 0o40700, 1000, 1000],
  };
  it('reports the chain of root-owned directories of a packaged helper', () => {
    const fs = fakeFs({ ...dirs, '/usr/lib/qemu/qemu-bridge-helper': ['f', 0o100755, 0, 0] });
    const h = inspectBridgeHelper(['/usr/lib/qemu/qemu-bridge-helper'], fs)!;
    expect(h.dirs!.map((d) => d.path)).toEqual(['/usr/lib/qemu', '/usr/lib', '/usr', '/']);
    expect(helperHazard(h)).toBeUndefined();
  });
  it('sees a symbolic link as one, not as its target', () => {
    const fs = fakeFs({ ...dirs, '/usr/lib/qemu/qemu-bridge-helper': ['l', 0o120777, 0, 0] });
    const h = inspectBridgeHelper(['/usr/lib/qemu/qemu-bridge-helper'], fs)!;
    expect(h.symlink).toBe(true);
    expect(helperHazard(h)).toMatch(/symbolic link/);
  });
  it('checks the directories a symlinked directory resolves to', () => {
    const fs = fakeFs(
      {
        ...dirs,
        '/usr/lib/qemu': ['l', 0o120777, 0, 0],
        '/home/eve/qemu': ['d', 0o40755, 1000, 1000],
        '/usr/lib/qemu/qemu-bridge-helper': ['f', 0o100755, 0, 0],
      },
      { '/usr/lib/qemu': '/home/eve/qemu' },
    );
    const h = inspectBridgeHelper(['/usr/lib/qemu/qemu-bridge-helper'], fs)!;
    expect(helperHazard(h)).toMatch(/\/home\/eve\/qemu is owned by uid 1000/);
  });
});

describe('on a real file system (needs root to make files of other owners)', () => {
  const root = process.getuid?.() === 0;
  it.runIf(root)('refuses a helper in a directory another user owns, and accepts one root owns', () => {
    const base = mkdtempSync(join(tmpdir(), 'roost-helper-'));
    try {
      chmodSync(base, 0o755);
      const userDir = join(base, 'user');
      const rootDir = join(base, 'root');
      for (const d of [userDir, rootDir]) {
        mkdirSync(d, { mode: 0o755 });
        writeFileSync(join(d, 'qemu-bridge-helper'), '#!/bin/sh\n');
        chmodSync(join(d, 'qemu-bridge-helper'), 0o755);
      }
      chownSync(userDir, 65534, 65534);
      const inUserDir = inspectBridgeHelper([join(userDir, 'qemu-bridge-helper')])!;
      expect(helperHazard(inUserDir)).toMatch(/owned by uid 65534, not root/);
      // The temporary directory's own ancestors (/tmp is world-writable, sticky) make even root's copy unsafe.
      const inRootDir = inspectBridgeHelper([join(rootDir, 'qemu-bridge-helper')])!;
      const tmpHazard = helperHazard(inRootDir);
      expect(tmpHazard === undefined || /writable by users other than root/.test(tmpHazard)).toBe(true);
      symlinkSync(join(rootDir, 'qemu-bridge-helper'), join(rootDir, 'link'));
      expect(helperHazard(inspectBridgeHelper([join(rootDir, 'link')])!)).toMatch(/symbolic link/);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
  it('accepts the helper this host has installed, when it is the packaged one', () => {
    const h = inspectBridgeHelper();
    if (h === undefined || h.uid !== 0) return;
    expect(h.symlink).toBeUndefined();
    expect(helperHazard(h)).toBeUndefined();
  });
});
