import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIso9660 } from './iso9660.js';

// Round trips through the reference readers: isoinfo (genisoimage) and xorriso (libisofs). A kernel mount
// would need root; cloud-init in a real guest reads it in the integration tests.
const have = (tool: string) => spawnSync(tool, ['-version']).error === undefined;
const run = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout + r.stderr;
};

const files = {
  'user-data': '#cloud-config\nhostname: web\nusers:\n  - name: debian\n',
  'meta-data': 'instance-id: roost-1\nlocal-hostname: web\n',
  'network-config': 'version: 2\nethernets:\n  primary:\n    match:\n      name: e*\n    dhcp4: true\n',
};
const big = Buffer.alloc(5000, 'x'); // spans three sectors
const when = new Date('2024-05-06T07:08:09Z');

let dir: string;
let iso: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roost-iso-'));
  iso = join(dir, 'seed.iso');
  const image = buildIso9660({
    volumeId: 'cidata',
    timestamp: when,
    files: [
      ...Object.entries(files).map(([name, data]) => ({ name, data })),
      { name: 'a-long-file.name.txt', data: big },
    ],
  });
  await writeFile(iso, image);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('buildIso9660', () => {
  it('is sector-aligned and byte-identical for the same input and time', () => {
    const a = buildIso9660({
      volumeId: 'cidata',
      timestamp: when,
      files: [{ name: 'user-data', data: 'x' }],
    });
    const b = buildIso9660({
      volumeId: 'cidata',
      timestamp: when,
      files: [{ name: 'user-data', data: 'x' }],
    });
    expect(a.length % 2048).toBe(0);
    expect(a.equals(b)).toBe(true);
    expect(a.subarray(16 * 2048 + 1, 16 * 2048 + 6).toString()).toBe('CD001');
  });

  it('rejects names it cannot represent', () => {
    const bad = (name: string) => () => buildIso9660({ volumeId: 'cidata', files: [{ name, data: '' }] });
    expect(bad('a/b')).toThrow(/invalid/);
    expect(bad('x'.repeat(65))).toThrow(/invalid/);
    expect(() =>
      buildIso9660({
        volumeId: 'cidata',
        files: [
          { name: 'a', data: '' },
          { name: 'a', data: '' },
        ],
      }),
    ).toThrow(/duplicate/);
    expect(() => buildIso9660({ volumeId: 'a-volume-label-too-long', files: [] })).toThrow(/volume id/);
  });

  it.skipIf(!have('isoinfo'))(
    'isoinfo: label cidata, Joliet and Rock Ridge names exact, level-1 names mangled',
    () => {
      const info = run('isoinfo', ['-d', '-i', iso]);
      expect(info).toMatch(/^Volume id: cidata$/m);
      expect(info).toMatch(/Joliet with UCS level 3 found/);
      expect(info).toMatch(/Rock Ridge signatures version 1 found/);
      const names = (out: string) =>
        out
          .split('\n')
          .map((l) => /\]\s+(\S+)\s*$/.exec(l)?.[1])
          .filter((n): n is string => !!n && n !== '.' && n !== '..');
      const expected = ['a-long-file.name.txt', 'meta-data', 'network-config', 'user-data'];
      expect(names(run('isoinfo', ['-l', '-J', '-i', iso])).sort()).toEqual(expected);
      expect(names(run('isoinfo', ['-l', '-R', '-i', iso])).sort()).toEqual(expected);
      expect(names(run('isoinfo', ['-l', '-i', iso])).sort()).toEqual([
        'A_LONG_F.TXT;1',
        'META_DAT.;1',
        'NETWORK_.;1',
        'USER_DAT.;1',
      ]);
      expect(run('isoinfo', ['-l', '-R', '-i', iso])).toMatch(
        /-r--r--r--\s+1\s+0\s+0\s+\d+ May {1,2}6 2024 .* user-data/,
      );
      for (const [name, data] of Object.entries(files)) {
        expect(run('isoinfo', ['-J', '-i', iso, '-x', `/${name}`])).toBe(data);
        expect(run('isoinfo', ['-R', '-i', iso, '-x', `/${name}`])).toBe(data);
      }
    },
  );

  it.skipIf(!have('xorriso'))('xorriso: lists and extracts the exact names and contents', async () => {
    const listing = run('xorriso', ['-indev', iso, '-ls', '/', '--']);
    expect(listing).toMatch(/Volume id\s+:\s+'cidata'/);
    for (const name of Object.keys(files)) expect(listing).toContain(`'${name}'`);
    const out = join(dir, 'extracted');
    run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', out]);
    for (const [name, data] of Object.entries(files))
      expect(await readFile(join(out, name), 'utf8')).toBe(data);
    expect((await readFile(join(out, 'a-long-file.name.txt'))).equals(big)).toBe(true);
    // Each name set alone: Joliet (Rock Ridge ignored), Rock Ridge (Joliet ignored), plain ISO 9660.
    for (const mode of ['norock', 'nojoliet']) {
      const ls = run('xorriso', ['-read_fs', mode, '-indev', iso, '-ls', '/', '--']);
      for (const name of Object.keys(files)) expect(ls, mode).toContain(`'${name}'`);
    }
    expect(run('xorriso', ['-read_fs', 'ecma119', '-indev', iso, '-ls', '/', '--'])).toContain(`'USER_DAT'`);
  });
});
