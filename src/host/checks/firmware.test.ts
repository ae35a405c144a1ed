import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDomainCaps } from './domcaps.js';
import { findOvmfFiles, firmwareCheck } from './firmware.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../test/fixtures/domcaps/${name}`, import.meta.url), 'utf8');
const NEW_LIBVIRT = fixture('libvirt-11.3-qemu-10.0.xml');
const OLD_LIBVIRT = fixture('libvirt-no-backend-enum.xml');
const FIX = 'sudo apt-get install ovmf';
const dir = mkdtempSync(join(tmpdir(), 'roost-doctor-ovmf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('domain capabilities', () => {
  it('reads the interface backends, loaders, type and arch', () => {
    expect(parseDomainCaps(NEW_LIBVIRT)).toEqual({
      domainType: 'qemu',
      arch: 'x86_64',
      interfaceBackends: ['default', 'passt'],
      loaders: ['/usr/share/OVMF/OVMF_CODE_4M.fd'],
    });
    expect(parseDomainCaps(OLD_LIBVIRT).interfaceBackends).toBeNull();
  });

  it('reads a single-value enum as a list', () => {
    const xml = `<domainCapabilities><devices><interface supported='yes'><enum name='backendType'><value>default</value></enum></interface></devices></domainCapabilities>`;
    expect(parseDomainCaps(xml).interfaceBackends).toEqual(['default']);
  });
});

describe('OVMF', () => {
  it("is ok with a loader from libvirt's capabilities that exists", () => {
    const r = firmwareCheck(NEW_LIBVIRT, [], FIX, (p) => p === '/usr/share/OVMF/OVMF_CODE_4M.fd');
    expect(r).toMatchObject({ id: 'ovmf', status: 'ok' });
    expect(r.detail).toContain('OVMF_CODE_4M.fd');
  });

  it('falls back to the files on disk', () => {
    mkdirSync(join(dir, 'OVMF'));
    writeFileSync(join(dir, 'OVMF', 'OVMF_VARS_4M.fd'), '');
    writeFileSync(join(dir, 'OVMF', 'OVMF_CODE_4M.fd'), '');
    const files = findOvmfFiles([join(dir, 'missing'), join(dir, 'OVMF')]);
    expect(files).toEqual([join(dir, 'OVMF', 'OVMF_CODE_4M.fd')]);
    expect(firmwareCheck(null, files, FIX).status).toBe('ok');
  });

  it('fails with the install command when there is none', () => {
    expect(firmwareCheck(NEW_LIBVIRT, [], FIX, () => false)).toMatchObject({ status: 'fail', fix: FIX });
  });
});
