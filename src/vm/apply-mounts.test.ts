// The `mounts:` of a VM file: spelt as create's --mount, checked by the same code against real directories (a
// refusal names the VM), relative to the file, and written back by export as the user gave them.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withAbsolutePaths } from '../declarative/paths.js';
import { buildDomainXml } from '../domain-xml/build.js';
import { parseDomainXml } from '../domain-xml/parse.js';
import { sampleSpec } from '../domain-xml/testing.js';
import { UsageError } from '../errors.js';
import type { Domain } from '../libvirt/types.js';
import { createRequestOf } from './apply-create.js';
import { checkFileMounts, mountArgOf } from './apply-mounts.js';
import type { CurrentVm } from './apply-state.js';
import { describeVm } from './export.js';

const dir = mkdtempSync(join(tmpdir(), 'roost-apply-mounts-'));
const src = join(dir, 'src');
const home = join(dir, 'home');
mkdirSync(src);
mkdirSync(home);
symlinkSync(src, join(dir, 'link'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a VM file’s shared folders', () => {
  it('are create’s --mount arguments', () => {
    expect(mountArgOf({ host: '/h/src' })).toBe('/h/src');
    expect(mountArgOf({ host: '/h/src', guest: '/src', readOnly: true })).toBe('/h/src:/src:ro');
    const req = createRequestOf({ name: 'web', mounts: [{ host: '/h/a', guest: '/a' }] }, undefined);
    expect(req.mounts).toEqual(['/h/a:/a']);
    expect(createRequestOf({ name: 'web' }, undefined).mounts).toBeUndefined();
  });

  it('are relative to the file, ~/ being the home directory', () => {
    const spec = withAbsolutePaths(
      { name: 'web', mounts: [{ host: 'src', guest: '/src' }, { host: '~/data' }] },
      '/repo',
      '/home/me',
    );
    expect(spec.mounts).toEqual([{ host: '/repo/src', guest: '/src' }, { host: '/home/me/data' }]);
  });

  it('are checked as --mount is: the real directory, and a refusal names the VM (exit 2)', () => {
    expect(
      checkFileMounts({ name: 'web', mounts: [{ host: join(dir, 'link'), guest: '/src' }] }, '/home/x'),
    ).toEqual([{ hostDir: src, hostDirGiven: join(dir, 'link'), guestDir: '/src', readonly: false }]);
    const refused: [string, string, string][] = [
      [join(dir, 'missing'), '/m', 'MOUNT_SOURCE_MISSING'],
      [src, '/etc', 'INVALID_GUEST_DIR'],
      [src, 'relative', 'INVALID_GUEST_DIR'],
      [`${src}:x`, '/y', 'INVALID_MOUNT'],
      [dir, '/home-of-user', 'MOUNT_HOME'],
    ];
    for (const [host, guest, code] of refused) {
      const spec = { name: 'web', mounts: [{ host, guest }] };
      expect(() => checkFileMounts(spec, home), host).toThrow(UsageError);
      expect(() => checkFileMounts(spec, home)).toThrow(
        expect.objectContaining({ code, exitCode: 2, message: expect.stringMatching(/^VM 'web': mounts: /) }),
      );
    }
    const twice = {
      name: 'web',
      mounts: [
        { host: src, guest: '/a' },
        { host: src, guest: '/a' },
      ],
    };
    expect(() => checkFileMounts(twice, undefined)).toThrow(
      expect.objectContaining({ code: 'DUPLICATE_GUEST_DIR' }),
    );
    expect(checkFileMounts({ name: 'web' }, undefined)).toBeUndefined();
  });

  it('are written back by export as given (the path before the symlink), with guest directory and mode', () => {
    const parsed = parseDomainXml(
      buildDomainXml(
        sampleSpec({
          filesystems: [
            { type: '9p', source: src, tag: 'roost0', readonly: true },
            { type: '9p', source: '/srv/x', tag: 'roost1' },
            { type: '9p', source: '/srv/unrecorded', tag: 'roost2' },
          ],
          roost: {
            createdBy: 'roost',
            mounts: [
              { tag: 'roost0', guestDir: '/src', hostDirGiven: join(dir, 'link') },
              { tag: 'roost1', guestDir: '/x' },
            ],
          },
        }),
      ),
    );
    const cur: CurrentVm = {
      name: 'demo',
      dom: { name: 'demo', uuid: Buffer.alloc(16), id: -1 } as Domain,
      running: false,
      parsed,
      appliedFrom: undefined,
      ports: [],
      diskBytes: undefined,
      autostart: false,
    };
    const { spec, left } = describeVm({ paths: { data: '/nowhere' } as never }, cur, undefined);
    expect(spec.mounts).toEqual([
      { host: join(dir, 'link'), guest: '/src', readOnly: true },
      { host: '/srv/x', guest: '/x' },
    ]);
    expect(left).toContain(
      'shared folder /srv/unrecorded (tag roost2): where the guest mounts it is not recorded',
    );
  });
});
