import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { roostPaths } from '../paths.js';
import { assertIsoImage, assertRegularFile, assertUsableImage, probeImage } from './probe.js';
import { createImageStore } from './store.js';
import { fixtureQcow2, fixtureRaw } from './testing.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roost-probe-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const has = (program: string, arg = '--version') =>
  spawnSync(program, [arg], { stdio: 'ignore' }).status === 0;
const file = async (name: string, data: Buffer | string) => {
  const p = join(dir, name);
  await writeFile(p, data);
  return p;
};

describe('probeImage: what it accepts', () => {
  it('a qcow2 (format, virtual size) and a raw disk with a boot sector, also through a symlink', async () => {
    const q = await file('a.qcow2', fixtureQcow2(8192, 3 * 2 ** 30));
    await expect(probeImage(q)).resolves.toEqual({ format: 'qcow2', virtualSize: 3 * 2 ** 30 });
    const r = await file('a.raw', fixtureRaw(1 << 20));
    await expect(probeImage(r)).resolves.toEqual({ format: 'raw', virtualSize: 1 << 20 });
    await symlink(r, join(dir, 'link.raw'));
    await expect(probeImage(join(dir, 'link.raw'))).resolves.toMatchObject({ format: 'raw' });
  });

  it('raw images by their partition table or filesystem: GPT, ext4, btrfs, ISO 9660', async () => {
    const at = (offset: number, magic: Buffer | string) => {
      const b = Buffer.alloc(128 * 1024);
      Buffer.from(magic).copy(b, offset);
      return b;
    };
    for (const [name, data] of [
      ['gpt', at(512, 'EFI PART')],
      ['ext4', at(1080, Buffer.from([0x53, 0xef]))],
      ['btrfs', at(0x10040, '_BHRfS_M')],
      ['iso', at(0x8001, 'CD001')],
    ] as const) {
      await expect(probeImage(await file(name, data)), name).resolves.toMatchObject({ format: 'raw' });
    }
  });

  it.skipIf(!has('mkfs.ext4', '-V'))('a filesystem image made by mkfs.ext4', async () => {
    const p = await file('fs.img', Buffer.alloc(0));
    execFileSync('truncate', ['-s', '8M', p]);
    execFileSync('mkfs.ext4', ['-q', '-F', p], { stdio: 'ignore' });
    await expect(assertUsableImage(p)).resolves.toEqual({ format: 'raw', virtualSize: 8 << 20 });
  });
});

describe('probeImage: what it refuses', () => {
  it('a text file (/etc/hostname, a key): not a disk image', async () => {
    const key = await file(
      'id_ed25519',
      '-----BEGIN OPENSSH PRIVATE KEY-----\nxxxx\n-----END OPENSSH PRIVATE KEY-----\n',
    );
    await expect(probeImage(key)).rejects.toMatchObject({ code: 'IMAGE_NOT_AN_IMAGE', exitCode: 2 });
    await expect(probeImage(key)).rejects.toThrow(
      /is not a disk image: its size \(\d+ bytes\) is not a whole number/,
    );
    // Sector-sized but no partition table, boot sector or filesystem.
    const blob = await file('blob', Buffer.alloc(4096, 0x41));
    await expect(probeImage(blob)).rejects.toThrow(/no partition table, boot sector or filesystem/);
    await expect(probeImage(await file('empty', ''))).rejects.toMatchObject({ code: 'IMAGE_NOT_AN_IMAGE' });
  });

  it('other formats, by name', async () => {
    const vmdk = await file('a.vmdk', '# Disk DescriptorFile\nRW 8 FLAT "/etc/shadow" 0\n');
    await expect(probeImage(vmdk)).rejects.toMatchObject({ code: 'IMAGE_FORMAT_UNSUPPORTED' });
    await expect(probeImage(vmdk)).rejects.toThrow(/a VMDK descriptor/);
    const luks = Buffer.alloc(4096);
    Buffer.from('LUKS\xba\xbe', 'latin1').copy(luks);
    await expect(probeImage(await file('luks', luks))).rejects.toThrow(/LUKS/);
    const xz = Buffer.alloc(4096);
    Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]).copy(xz);
    await expect(probeImage(await file('img', xz))).rejects.toThrow(/xz-compressed/);
  });

  it('a directory, a missing file', async () => {
    await expect(probeImage(dir)).rejects.toMatchObject({ code: 'FILE_NOT_REGULAR' });
    await expect(probeImage(join(dir, 'nope'))).rejects.toThrow(/does not exist/);
  });

  it('a qcow2 with a backing file, as a base image (the probe itself reports it)', async () => {
    const q = await file('o.qcow2', fixtureQcow2(8192, 1 << 30, '../base.qcow2'));
    await expect(probeImage(q)).resolves.toMatchObject({ backingFile: '../base.qcow2' });
    await expect(assertUsableImage(q)).rejects.toMatchObject({ code: 'IMAGE_HAS_BACKING_FILE' });
  });

  it('a truncated qcow2 header', async () => {
    const q = await file('t.qcow2', fixtureQcow2(8192).subarray(0, 60));
    await expect(probeImage(q)).rejects.toMatchObject({ code: 'IMAGE_QCOW2_INVALID' });
  });

  // Run in a child process: a probe that blocks in open(2) would block the test runner's own thread too.
  it('a FIFO: refused at once, never opened for a blocking read (also for --kernel and --iso)', () => {
    const fifo = join(dir, 'fifo.qcow2');
    execFileSync('mkfifo', [fifo]);
    const probe = resolve(import.meta.dirname, 'probe.ts');
    const script = `
      const m = await import(${JSON.stringify(probe)});
      const codes = [];
      for (const f of [() => m.probeImage(process.argv[1]), () => m.assertRegularFile(process.argv[1], 'kernel'),
                       () => m.assertIsoImage(process.argv[1])]) {
        try { await f(); codes.push('accepted'); } catch (e) { codes.push(e.code); }
      }
      console.log(JSON.stringify(codes));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, fifo], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(r.signal, 'the probe blocked on the FIFO').toBeNull();
    expect(JSON.parse(r.stdout)).toEqual(['FILE_NOT_REGULAR', 'FILE_NOT_REGULAR', 'FILE_NOT_REGULAR']);
  });
});

describe('assertIsoImage and assertRegularFile', () => {
  it('an ISO needs an ISO 9660 volume descriptor', async () => {
    const iso = Buffer.alloc(0x9000);
    Buffer.from('CD001').copy(iso, 0x8001);
    expect(assertIsoImage(await file('a.iso', iso))).toMatch(/a\.iso$/);
    expect(() => assertIsoImage('/etc/hostname')).toThrow(/is not an ISO image/);
  });

  it('a kernel must be a regular, non-empty file', async () => {
    expect(assertRegularFile(await file('vmlinuz', 'x'), 'kernel')).toMatch(/vmlinuz$/);
    expect(() => assertRegularFile(dir, 'kernel')).toThrow(
      /kernel '.*' is not a regular file \(a directory\)/,
    );
    expect(() => assertRegularFile('/dev/null', 'kernel')).toThrow(/character device/);
  });
});

describe.skipIf(!has('qemu-img'))('probeImage on files made by qemu-img', () => {
  const qemuImg = (...args: string[]) => execFileSync('qemu-img', args, { stdio: 'pipe' });

  it('accepts a plain qcow2 and a raw image with a partition table', async () => {
    const q = join(dir, 'good.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', q, '1G');
    await expect(assertUsableImage(q)).resolves.toEqual({ format: 'qcow2', virtualSize: 2 ** 30 });
    const z = join(dir, 'zstd.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', '-o', 'compression_type=zstd,extended_l2=on', z, '1G');
    await expect(assertUsableImage(z)).resolves.toMatchObject({ format: 'qcow2' });
  });

  it('refuses a qcow2 with an external data file: made by create -o data_file, and by amend', async () => {
    const secret = await file('secret', Buffer.alloc(1 << 20, 0x53));
    const made = join(dir, 'made.qcow2');
    const dataFile = join(dir, 'data');
    qemuImg('create', '-q', '-f', 'qcow2', '-o', `data_file=${dataFile}`, made, '1M');
    await expect(assertUsableImage(made)).rejects.toMatchObject({
      code: 'IMAGE_EXTERNAL_DATA_FILE',
      exitCode: 2,
    });
    await expect(assertUsableImage(made)).rejects.toThrow(`external data file ('${dataFile}')`);

    const amended = join(dir, 'amended.qcow2');
    // An image made with a harmless data file, then pointed at the secret, as the attack goes.
    qemuImg('create', '-q', '-f', 'qcow2', '-o', `data_file=${join(dir, 'harmless')}`, amended, '1M');
    qemuImg('amend', '-f', 'qcow2', '-o', `data_file=${secret}`, amended);
    await expect(probeImage(amended)).rejects.toMatchObject({ code: 'IMAGE_EXTERNAL_DATA_FILE' });
    await expect(probeImage(amended)).rejects.toThrow(`('${secret}')`);
    expect((await readFile(secret)).every((b) => b === 0x53)).toBe(true);
  });

  it('refuses a qcow2 with an unknown incompatible feature bit flipped by hand', async () => {
    const q = join(dir, 'flipped.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', q, '1M');
    const b = await readFile(q);
    b.writeBigUInt64BE(b.readBigUInt64BE(72) | (1n << 7n), 72);
    await writeFile(q, b);
    await expect(probeImage(q)).rejects.toMatchObject({ code: 'IMAGE_QCOW2_UNSUPPORTED' });
    await expect(probeImage(q)).rejects.toThrow(/unknown incompatible qcow2 features \(0x80\)/);
  });

  it('refuses a VMDK made by qemu-img', async () => {
    const v = join(dir, 'a.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', v, '1M');
    await expect(probeImage(v)).rejects.toMatchObject({ code: 'IMAGE_FORMAT_UNSUPPORTED' });
  });
});

describe('assertUsableImage: a base image only you can change', () => {
  it('refuses a world-writable image, and one in a directory others can write to (without the sticky bit)', async () => {
    const q = await file('shared.qcow2', fixtureQcow2(8192));
    await chmod(q, 0o666);
    await expect(assertUsableImage(q)).rejects.toMatchObject({ code: 'IMAGE_NOT_PRIVATE', exitCode: 2 });
    await expect(assertUsableImage(q)).rejects.toThrow(/the file is world-writable/);
    await chmod(q, 0o644);
    await expect(assertUsableImage(q)).resolves.toMatchObject({ format: 'qcow2' });

    const open = join(dir, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    const inOpen = join(open, 'a.qcow2');
    await writeFile(inOpen, fixtureQcow2(8192));
    await expect(assertUsableImage(inOpen)).rejects.toThrow(/its directory is world-writable/);
    await chmod(open, 0o1777); // like /tmp: others cannot replace your file
    await expect(assertUsableImage(inOpen)).resolves.toMatchObject({ format: 'qcow2' });
  });

  it.skipIf(process.getuid?.() !== 0)(
    'refuses an image another user owns; importing it (a private copy) works',
    async () => {
      const q = await file('theirs.qcow2', fixtureQcow2(8192));
      await chown(q, 65534, 65534);
      await expect(assertUsableImage(q)).rejects.toThrow(/the file belongs to uid 65534/);
      const store = createImageStore({ paths: roostPaths({ HOME: dir }), env: {} });
      const img = await store.import(q, { as: 'theirs' });
      await expect(assertUsableImage(img.path)).resolves.toMatchObject({ format: 'qcow2' });
    },
  );
});
