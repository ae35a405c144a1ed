import { describe, expect, it } from 'vitest';
import type { ParsedDomain } from '../domain-xml/parse.js';
import type { ParsedSnapshot } from '../domain-xml/snapshot-xml.js';
import { checkSnapshotName, chooseKind, defaultSnapshotName } from './snapshot.js';

const disk = (format: string, extra: Partial<ParsedDomain['disks'][number]> = {}) =>
  ({
    device: 'disk',
    type: 'file',
    path: '/p/d',
    format,
    bus: 'virtio',
    target: 'vda',
    readonly: false,
    ...extra,
  }) as ParsedDomain['disks'][number];
const dom = (firmware: 'uefi' | 'bios', disks = [disk('qcow2')]) => ({ firmware, disks }) as ParsedDomain;
const snap = (kind: 'internal' | 'external') => ({ name: 'x', kind }) as ParsedSnapshot;

describe('chooseKind', () => {
  it('internal for BIOS with qcow2 disks, external for UEFI, raw disks, and disk-only of a running VM', () => {
    expect(chooseKind(dom('bios'), true, [], {}).kind).toBe('internal');
    expect(chooseKind(dom('uefi'), true, [], {})).toEqual({
      kind: 'external',
      reason: expect.stringMatching(/UEFI/),
    });
    expect(chooseKind(dom('bios', [disk('raw')]), false, [], {}).reason).toMatch(/not qcow2/);
    expect(chooseKind(dom('bios'), true, [], { diskOnly: true }).kind).toBe('external');
    expect(chooseKind(dom('bios'), false, [], { diskOnly: true }).kind).toBe('internal');
    // a read-only raw disk (an ISO) is not snapshotted, so it does not matter
    expect(chooseKind(dom('bios', [disk('qcow2'), disk('raw', { readonly: true })]), true, [], {}).kind).toBe(
      'internal',
    );
  });

  it('a VM keeps the kind of the snapshots it has', () => {
    expect(chooseKind(dom('bios'), true, [snap('external')], {}).kind).toBe('external');
    expect(() => chooseKind(dom('bios'), true, [snap('internal')], { kind: 'external' })).toThrow(
      /already has internal/,
    );
  });

  it('--kind internal where libvirt cannot: a usage error that says why', () => {
    expect(() => chooseKind(dom('uefi'), true, [], { kind: 'internal' })).toThrow(
      expect.objectContaining({
        code: 'SNAPSHOT_KIND_IMPOSSIBLE',
        exitCode: 2,
        message: expect.stringMatching(/UEFI/),
      }),
    );
    expect(chooseKind(dom('uefi'), true, [], { kind: 'external' })).toEqual({
      kind: 'external',
      reason: 'asked for',
    });
  });
});

describe('snapshot names', () => {
  it('become file names: letters, digits, . _ - only, never a path', () => {
    for (const ok of ['s1', 'before-upgrade', 'v1.2_x']) expect(checkSnapshotName(ok)).toBe(ok);
    for (const bad of ['', '../x', 'a/b', '.hidden', '-opt', 'a b', 'x'.repeat(64), 'é'])
      expect(() => checkSnapshotName(bad)).toThrow(
        expect.objectContaining({ code: 'INVALID_SNAPSHOT_NAME' }),
      );
  });

  it('a default name from the time, valid and sortable', () => {
    const n = defaultSnapshotName(new Date('2026-12-02T05:59:46.123Z'));
    expect(n).toBe('snap-20261202-055946Z');
    expect(checkSnapshotName(n)).toBe(n);
  });
});
