import { describe, expect, it } from 'vitest';
import type { ParsedDomain } from '../domain-xml/parse.js';
import type { Domain } from '../libvirt/types.js';
import { planLines, planPrune, planVm } from './apply-plan.js';
import type { CurrentVm } from './apply-state.js';

const FILE = '/home/me/vms.yaml';

function vm(over: Partial<CurrentVm> & { cpus?: number; memoryMiB?: number } = {}): CurrentVm {
  const { cpus = 1, memoryMiB = 256, ...rest } = over;
  return {
    name: 'web',
    dom: { name: 'web', uuid: Buffer.alloc(16), id: -1 } as Domain,
    running: false,
    parsed: {
      cpus,
      memoryMiB,
      firmware: 'bios',
      nics: [],
      disks: [],
      boot: { kind: 'disk' },
      guestAgent: false,
    } as unknown as ParsedDomain,
    appliedFrom: FILE,
    ports: ['127.0.0.1:8080:80/tcp', '127.0.0.1:2222:22/tcp'],
    diskBytes: 16 * 1024 ** 2,
    autostart: false,
    ...rest,
  };
}

describe('planVm', () => {
  it('creates a VM that is missing', () => {
    expect(planVm({ spec: { name: 'web' }, file: FILE }, undefined)).toMatchObject({
      action: 'create',
      changes: [],
    });
  });

  it('finds a VM unchanged when every field the file gives agrees (roost’s own ssh forward kept)', () => {
    const p = planVm(
      { spec: { name: 'web', cpus: 1, memory: '256M', disk: '16M', ports: ['8080:80'] }, file: FILE },
      vm(),
    );
    expect(p).toMatchObject({ action: 'unchanged', changes: [] });
    expect(planLines([p])).toEqual(['= unchanged web']);
  });

  it('lists each change with old and new value and when it takes effect', () => {
    const p = planVm(
      {
        spec: { name: 'web', cpus: 2, memory: '1G', disk: '32M', ports: ['9090:80'], autostart: true },
        file: FILE,
      },
      vm(),
    );
    expect(p.action).toBe('change');
    expect(planLines([p])).toEqual([
      '~ change web cpus: 1 → 2 (at next start)',
      '~ change web memory: 256 MiB → 1024 MiB (at next start)',
      '~ change web disk: 16 MiB → 32 MiB (live)',
      '~ change web ports: 127.0.0.1:8080:80/tcp → (none) (at next start)',
      '~ change web ports: (none) → 127.0.0.1:9090:80/tcp (at next start)',
      '~ change web autostart: off → on (at next start)',
    ]);
    expect(p.edit).toMatchObject({
      cpus: 2,
      memoryMiB: 1024,
      diskBytes: 32 * 1024 ** 2,
      addPorts: ['127.0.0.1:9090:80/tcp'],
    });
  });

  it('refuses to shrink a disk and to take over a VM another file applied, before anything changes', () => {
    expect(() => planVm({ spec: { name: 'web', disk: '8M' }, file: FILE }, vm())).toThrow(
      /a disk never shrinks/,
    );
    expect(() => planVm({ spec: { name: 'web' }, file: FILE }, vm({ appliedFrom: '/other.yaml' }))).toThrow(
      /applied from \/other\.yaml/,
    );
  });

  it('changes shared folders as a set, at next start, and leaves them when the file gives none', () => {
    const withShares = vm({
      parsed: {
        ...vm().parsed,
        filesystems: [
          { type: '9p', source: '/home/me/src', tag: 'roost0', readonly: false, accessmode: 'squash' },
          { type: '9p', source: '/home/me/old', tag: 'roost1', readonly: true, accessmode: 'squash' },
        ],
        roost: {
          createdBy: 'roost',
          mounts: [
            { tag: 'roost0', guestDir: '/src' },
            { tag: 'roost1', guestDir: '/old' },
          ],
        },
      } as unknown as ParsedDomain,
    });
    const p = planVm(
      {
        spec: { name: 'web', mounts: [{ host: '/home/me/src', guest: '/src' }] },
        file: FILE,
        mounts: [
          { hostDir: '/home/me/src', guestDir: '/src', readonly: false },
          { hostDir: '/home/me/data', guestDir: '/data', readonly: true },
        ],
      },
      withShares,
    );
    expect(planLines([p])).toEqual([
      '~ change web mounts: /home/me/old:/old:ro → (none) (at next start)',
      '~ change web mounts: (none) → /home/me/data:/data:ro (at next start)',
    ]);
    expect(p.edit.removeMounts.map((r) => r.tag)).toEqual(['roost1']);
    expect(p.edit.addMounts).toEqual([{ hostDir: '/home/me/data', guestDir: '/data', readonly: true }]);
    expect(planVm({ spec: { name: 'web' }, file: FILE }, withShares).action).toBe('unchanged');
  });

  it('notes what only creation chooses, without changing it', () => {
    const p = planVm({ spec: { name: 'web', firmware: 'uefi' }, file: FILE }, vm());
    expect(p.action).toBe('unchanged');
    expect(p.notes[0]).toMatch(/^firmware: bios → uefi \(chosen at creation only/);
  });
});

describe('planPrune', () => {
  it('removes only VMs applied from the files that they no longer list', () => {
    const current = [
      vm({ name: 'gone', appliedFrom: FILE }),
      vm({ name: 'kept', appliedFrom: FILE }),
      vm({ name: 'by-create', appliedFrom: undefined }),
      vm({ name: 'other-file', appliedFrom: '/other.yaml' }),
    ];
    const pruned = planPrune([FILE], new Set(['kept']), current);
    expect(pruned.map((p) => [p.name, p.action])).toEqual([['gone', 'remove']]);
  });
});
