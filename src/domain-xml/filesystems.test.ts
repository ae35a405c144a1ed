import { describe, expect, it } from 'vitest';
import { buildDomainXml } from './build.js';
import { addFilesystem, removeFilesystem, setRoostMetadata } from './edit.js';
import { DomainXmlError } from './errors.js';
import { guestDirProblem, tagProblem } from './filesystems.js';
import { parseDomainXml, toVmSpec } from './parse.js';
import type { FilesystemSpec } from './spec.js';
import { sampleSpec, validateWithLibvirt } from './testing.js';

const ninep: FilesystemSpec = { type: '9p', source: '/home/ada/src', tag: 'roost0' };
const virtiofs: FilesystemSpec = {
  type: 'virtiofs',
  source: '/home/ada/data',
  tag: 'roost1',
  readonly: true,
  binary: '/usr/libexec/virtiofsd',
};

describe('shared folders in the domain XML', () => {
  it('writes 9p as accessmode squash with no shared memory', async () => {
    const xml = buildDomainXml(sampleSpec({ filesystems: [ninep] }));
    expect(xml).toMatch(/<filesystem type="mount" accessmode="squash">/);
    expect(xml).toContain('<source dir="/home/ada/src"/>');
    expect(xml).toContain('<target dir="roost0"/>');
    expect(xml).not.toContain('memoryBacking');
    const result = await validateWithLibvirt(xml);
    expect(result.ok, result.output).toBe(true);
  });

  it('writes virtiofs with its driver, binary, read-only flag and shared memfd memory', async () => {
    const xml = buildDomainXml(sampleSpec({ filesystems: [ninep, virtiofs] }));
    expect(xml).toContain('<driver type="virtiofs" queue="1024"/>');
    expect(xml).toContain('<binary path="/usr/libexec/virtiofsd"/>');
    expect(xml).toMatch(
      /<memoryBacking>\s*<source type="memfd"\/>\s*<access mode="shared"\/>\s*<\/memoryBacking>/,
    );
    // libvirt's order: memoryBacking right after currentMemory, filesystems after the disks.
    expect(xml.indexOf('<memoryBacking>')).toBeGreaterThan(xml.indexOf('<currentMemory'));
    expect(xml.indexOf('<memoryBacking>')).toBeLessThan(xml.indexOf('<vcpu'));
    expect(xml.indexOf('<filesystem')).toBeGreaterThan(xml.lastIndexOf('<disk'));
    const result = await validateWithLibvirt(xml);
    expect(result.ok, result.output).toBe(true);
  });

  it('reads them back: a round trip keeps type, source, tag and read-only', () => {
    const spec = sampleSpec({ filesystems: [ninep, virtiofs] });
    const parsed = parseDomainXml(buildDomainXml(spec));
    expect(parsed.sharedMemory).toBe(true);
    expect(parsed.filesystems).toEqual([
      { type: '9p', accessmode: 'squash', source: '/home/ada/src', tag: 'roost0', readonly: false },
      {
        type: 'virtiofs',
        accessmode: 'passthrough',
        source: '/home/ada/data',
        tag: 'roost1',
        readonly: true,
      },
    ]);
    expect(toVmSpec(parsed).filesystems).toEqual([
      ninep,
      { type: 'virtiofs', source: '/home/ada/data', tag: 'roost1', readonly: true },
    ]);
  });

  it('refuses a tag longer than 9p allows, or one that is used twice', () => {
    expect(() => buildDomainXml(sampleSpec({ filesystems: [{ ...ninep, tag: 'x'.repeat(32) }] }))).toThrow(
      DomainXmlError,
    );
    expect(() =>
      buildDomainXml(sampleSpec({ filesystems: [ninep, { ...virtiofs, tag: 'roost0' }] })),
    ).toThrow(/used twice/);
    expect(tagProblem('x'.repeat(31))).toBeUndefined();
    expect(tagProblem('a/b')).toMatch(/not a mount tag/);
    expect(tagProblem('')).toMatch(/not a mount tag/);
  });

  it('adds a filesystem to an existing domain, keeping what it had, and removes it again', () => {
    const before = buildDomainXml(sampleSpec());
    const added = addFilesystem(before, virtiofs);
    const parsed = parseDomainXml(added);
    expect(parsed.filesystems.map((f) => f.tag)).toEqual(['roost1']);
    expect(parsed.sharedMemory).toBe(true);
    expect(parsed.nics).toEqual(parseDomainXml(before).nics);
    expect(() => addFilesystem(added, { ...ninep, tag: 'roost1' })).toThrow(/already has/);
    const removed = removeFilesystem(added, 'roost1');
    expect(parseDomainXml(removed).filesystems).toEqual([]);
    expect(() => removeFilesystem(removed, 'roost1')).toThrow(/no shared folder/);
  });

  it('adds shared access to a memoryBacking that has other settings, without replacing them', () => {
    const xml = buildDomainXml(sampleSpec()).replace(
      '<vcpu',
      '<memoryBacking><nosharepages/></memoryBacking>\n  <vcpu',
    );
    const added = addFilesystem(xml, virtiofs);
    expect(added).toMatch(
      /<memoryBacking><nosharepages\/><source type="memfd"\/><access mode="shared"\/><\/memoryBacking>/,
    );
  });

  it('records guest directories in roost metadata and refuses tampered ones when reading', () => {
    const xml = setRoostMetadata(buildDomainXml(sampleSpec()), {
      createdBy: 'roost test',
      mounts: [{ tag: 'roost0', guestDir: '/src', hostDirGiven: '/home/ada/link' }],
    });
    expect(parseDomainXml(xml).roost?.mounts).toEqual([
      { tag: 'roost0', guestDir: '/src', hostDirGiven: '/home/ada/link' },
    ]);
    const tampered = xml.replace('guest-dir="/src"', 'guest-dir="/src/../etc"');
    const meta = parseDomainXml(tampered).roost!;
    expect(meta.mounts).toBeUndefined();
    expect(meta.refused).toEqual([{ field: 'mount', reason: expect.stringMatching(/normalised/) as string }]);
    expect(() =>
      setRoostMetadata(xml, { createdBy: 'x', mounts: [{ tag: 'roost0', guestDir: 'rel' }] }),
    ).toThrow(DomainXmlError);
  });

  it('takes only guest paths that go into fstab and mount(8) as they are', () => {
    expect(guestDirProblem('/home/ada/src')).toBeUndefined();
    expect(guestDirProblem('/srv/a_b-c.d+e@f')).toBeUndefined();
    for (const bad of ['src', '/a b', '/a\tb', "/a'b", '/a\\b', '/a//b', '/a/./b', '/a/..', '/a/', '/a\nb']) {
      expect(guestDirProblem(bad), bad).toBeDefined();
    }
  });
});
