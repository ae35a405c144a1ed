// roost create's checks: what a request becomes, and every refusal — a UsageError (exit 2) raised before the
// daemon is asked anything, so a refused create changes nothing (checked through createVm and a fake daemon).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureQcow2, fixtureRaw } from '../images/testing.js';
import { openFakeLibvirt } from '../libvirt/testing.js';
import { roostPaths } from '../paths.js';
import { checkCreateRequest, DEFAULT_DISK } from './create-check.js';
import { looksLikeCatalogName } from './input.js';
import { createVm, type CreateRequest } from './create.js';
import { parseDiskBytes } from './input.js';

const GiB = 1024 ** 3;
let dir: string;
const at = (name: string) => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'roost-check-'));
  writeFileSync(at('small.qcow2'), fixtureQcow2(1 << 20, 2 * GiB));
  writeFileSync(at('big.qcow2'), fixtureQcow2(1 << 20, 40 * GiB));
  writeFileSync(at('disk.raw'), fixtureRaw());
  writeFileSync(at('vmlinuz'), 'kernel');
  writeFileSync(at('initrd'), 'initrd');
  writeFileSync(at('not.iso'), Buffer.alloc(0x9000));
  writeFileSync(at('cloud.yaml'), '#cloud-config\npackages: [nginx]\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('checkCreateRequest: what a request becomes', () => {
  it('a local image: its format and size, a disk of at least the default size, UEFI, one passt NIC', async () => {
    const c = await checkCreateRequest({ name: 'web', image: at('small.qcow2') });
    expect(c.image).toEqual({ path: at('small.qcow2'), format: 'qcow2', virtualSize: 2 * GiB });
    expect(c.imageRef).toBeUndefined();
    expect(c.diskBytes).toBe(parseDiskBytes(DEFAULT_DISK));
    expect(c.diskGiven).toBe(false);
    expect(c.boot).toEqual({ kind: 'disk' });
    expect(c.firmware).toBe('uefi');
    expect(c.memoryMiB).toBe(2048);
    expect(c.cpus).toBe(2);
    expect(c.nics.map((n) => n.kind)).toEqual(['user']);
  });

  it('an image larger than the default disk keeps its own size', async () => {
    const c = await checkCreateRequest({ name: 'web', image: at('big.qcow2') });
    expect(c.diskBytes).toBe(40 * GiB);
  });

  it('a bare word is a catalogue name, resolved later; it gets the default disk', async () => {
    const c = await checkCreateRequest({ name: 'web', image: 'debian-12' });
    expect(c.imageRef).toBe('debian-12');
    expect(c.image).toBeUndefined();
    expect(c.diskBytes).toBe(parseDiskBytes(DEFAULT_DISK));
    expect(looksLikeCatalogName('./debian-12')).toBe(false);
    expect(looksLikeCatalogName('debian.qcow2')).toBe(false);
  });

  it('a kernel boots directly: BIOS, no disk unless --disk, its initrd and command line kept', async () => {
    const c = await checkCreateRequest({
      name: 'k',
      kernel: at('vmlinuz'),
      initrd: at('initrd'),
      cmdline: 'console=ttyS0',
      memory: '256M',
      cpus: '1',
      ports: ['8080:80'],
    });
    expect(c.boot).toEqual({
      kind: 'kernel',
      kernel: at('vmlinuz'),
      initrd: at('initrd'),
      cmdline: 'console=ttyS0',
    });
    expect(c.firmware).toBe('bios');
    expect(c.diskBytes).toBeUndefined();
    expect(c.memoryMiB).toBe(256);
    expect(c.ports).toEqual([
      { proto: 'tcp', address: '127.0.0.1', hostStart: 8080, hostEnd: 8080, guestStart: 80 },
    ]);
  });

  it('--disk may be larger than the image, and is then recorded as given', async () => {
    const c = await checkCreateRequest({ name: 'web', image: at('small.qcow2'), disk: '30G' });
    expect(c.diskBytes).toBe(30 * GiB);
    expect(c.diskGiven).toBe(true);
  });

  it('--cloud-init is read and kept for the seed', async () => {
    const c = await checkCreateRequest({
      name: 'web',
      image: at('small.qcow2'),
      cloudInit: at('cloud.yaml'),
    });
    expect(c.cloudInit).toMatchObject({ packages: ['nginx'] });
  });

  it('a cloud-config given as text (the API, the web form) is checked and kept the same way', async () => {
    const c = await checkCreateRequest({
      name: 'web',
      image: at('small.qcow2'),
      cloudConfig: '#cloud-config\nruncmd: [touch /ok]\n',
    });
    expect(c.cloudInit).toMatchObject({ runcmd: ['touch /ok'] });
    const blank = await checkCreateRequest({ name: 'web', image: at('small.qcow2'), cloudConfig: ' \n' });
    expect(blank.cloudInit).toBeUndefined();
  });
});

const refusals: [string, Partial<CreateRequest>, string][] = [
  ['nothing to boot', {}, 'NO_SOURCE'],
  ['--iso with --image', { iso: 'x.iso', image: 'debian-12' }, 'CONFLICTING_OPTIONS'],
  ['--iso with --kernel', { iso: 'x.iso', kernel: 'vmlinuz' }, 'CONFLICTING_OPTIONS'],
  ['--initrd without --kernel', { image: 'debian-12', initrd: 'initrd' }, 'CONFLICTING_OPTIONS'],
  ['--cmdline without --kernel', { image: 'debian-12', cmdline: 'quiet' }, 'CONFLICTING_OPTIONS'],
  ['a bad memory size', { image: 'debian-12', memory: 'lots' }, 'INVALID_SIZE'],
  ['a missing kernel', { kernel: '/nonexistent/vmlinuz' }, 'FILE_UNREADABLE'],
  ['an ISO that is none', { iso: 'not.iso' }, 'ISO_NOT_AN_ISO'],
  ['a disk smaller than the image', { image: 'big.qcow2', disk: '10G' }, 'DISK_TOO_SMALL'],
  ['--auto-ports without an image', { kernel: 'vmlinuz', autoPorts: true }, 'CONFLICTING_OPTIONS'],
  ['--cloud-init without an image', { kernel: 'vmlinuz', cloudInit: 'cloud.yaml' }, 'CONFLICTING_OPTIONS'],
  [
    'cloud-config text without an image',
    { kernel: 'vmlinuz', cloudConfig: 'runcmd: []' },
    'CONFLICTING_OPTIONS',
  ],
  [
    'cloud-config as a file and as text',
    { image: 'small.qcow2', cloudInit: 'cloud.yaml', cloudConfig: 'runcmd: []' },
    'CONFLICTING_OPTIONS',
  ],
  [
    'cloud-config text that is not a mapping',
    { image: 'small.qcow2', cloudConfig: '- a list' },
    'CLOUD_INIT_INVALID',
  ],
  ['a port forward that does not parse', { image: 'debian-12', ports: ['99999:22'] }, 'INVALID_PORT'],
  ['a network given twice', { image: 'debian-12', network: ['user', 'user'] }, 'INVALID_NETWORK'],
];

/** Relative file names in a refusal's request live in the test's directory. */
function inDir(req: Partial<CreateRequest>): CreateRequest {
  const file = (v: string | undefined) => (v && !v.startsWith('/') && /\./.test(v) ? at(v) : v);
  const local = (v: string | undefined) => (v === 'vmlinuz' || v === 'initrd' ? at(v) : file(v));
  return {
    name: 'web',
    ...req,
    image: req.image === 'debian-12' ? 'debian-12' : file(req.image),
    iso: file(req.iso),
    kernel: local(req.kernel),
    initrd: local(req.initrd),
    cloudInit: file(req.cloudInit),
  } as CreateRequest;
}

describe('checkCreateRequest: refusals', () => {
  it.each(refusals)('%s: %j is refused (%s, exit 2)', async (_what, req, code) => {
    const err = (await checkCreateRequest(inDir(req)).catch((e: unknown) => e)) as {
      code: string;
      exitCode: number;
    };
    expect(err.code).toBe(code);
    expect(err.exitCode).toBe(2);
  });

  it.each(refusals)('%s: createVm asks the daemon nothing', async (_what, req, code) => {
    const { fake, client } = await openFakeLibvirt();
    try {
      const env = { HOME: dir, XDG_RUNTIME_DIR: at('run') };
      const ctx = {
        client,
        uri: 'qemu:///session',
        paths: roostPaths(env),
        env,
        close: () => client.close(),
      };
      const before = fake.calls.length;
      const err = (await createVm(ctx, inDir(req)).catch((e: unknown) => e)) as { code: string };
      expect(err.code).toBe(code);
      expect(fake.calls.slice(before)).toEqual([]);
    } finally {
      await client.close();
    }
  });
});
