import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bridgeConfCheck,
  bridgeHelperCheck,
  inspectBridgeConf,
  inspectBridgeHelper,
  parseBridgeConf,
} from './bridge.js';

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
    const facts = { ...inspectBridgeHelper([plain])!, uid: 0 }; // as installed by the package: root's
    const r = bridgeHelperCheck(facts, INSTALL);
    expect(r).toMatchObject({ id: 'bridge-helper', status: 'warn', fix: `sudo chmod u+s ${plain}` });
    expect(r.detail).toContain('is not setuid');
  });

  it('is ok when the helper is setuid root', () => {
    const setuid = file('helper-setuid2', 0o4755);
    const facts = { ...inspectBridgeHelper([setuid])!, uid: 0 };
    const r = bridgeHelperCheck(facts, INSTALL);
    expect(r.status).toBe('ok');
    expect(r.fix).toBeUndefined();
  });

  it('asks for chown too when the setuid helper is not owned by root', () => {
    const setuid = file('helper-setuid3', 0o4755);
    const r = bridgeHelperCheck({ ...inspectBridgeHelper([setuid])!, uid: 1000 }, INSTALL);
    expect(r.status).toBe('warn');
    expect(r.fix).toBe(`sudo chown root ${setuid} && sudo chmod u+s ${setuid}`);
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
