import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { roostPaths, type RoostPaths } from '../paths.js';
import { ChecksumMismatchError, ImageNotFoundError } from './errors.js';
import { createImageStore } from './store.js';
import { fixtureQcow2, fixtureRaw, sha256, sha512, startFileServer, type FileServer } from './testing.js';
import type { PullEvent } from './types.js';

// debian-12 from the built-in catalogue, served by a local "mirror" laid out by host (ROOST_IMAGE_MIRROR=URL).
const DEBIAN_DIR = '/cloud.debian.org/images/cloud/bookworm/latest';
const DEBIAN_FILE = 'debian-12-genericcloud-amd64.qcow2';
const image = fixtureQcow2(1 << 20, 2 * 2 ** 30);

let home: string;
let paths: RoostPaths;
let server: FileServer | undefined;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'roost-images-'));
  paths = roostPaths({ HOME: home });
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(home, { recursive: true, force: true });
});

async function debianMirror(opts: Partial<Parameters<typeof startFileServer>[0]> = {}, sums?: string) {
  server = await startFileServer({
    files: {
      [`${DEBIAN_DIR}/${DEBIAN_FILE}`]: image,
      [`${DEBIAN_DIR}/SHA512SUMS`]:
        sums ?? `${sha512('other')}  debian-12-nocloud-amd64.qcow2\n${sha512(image)}  ${DEBIAN_FILE}\n`,
    },
    ...opts,
  });
  return createImageStore({
    paths,
    env: { ROOST_IMAGE_MIRROR: server.url },
    download: { retryDelayMs: 5, progressIntervalMs: 0 },
  });
}

const imageGets = () => server!.requests.filter((r) => r.path.endsWith('.qcow2'));

describe('image store: pull', () => {
  it('downloads a catalogue image through the mirror, verifies it and commits it privately', async () => {
    const store = await debianMirror();
    const events: PullEvent[] = [];
    const img = await store.pull('debian-12', { onProgress: (e) => events.push(e) });
    expect(img).toMatchObject({
      name: 'debian-12',
      format: 'qcow2',
      virtualSize: 2 * 2 ** 30,
      size: image.length,
      downloaded: true,
      digest: { algorithm: 'sha512', hex: sha512(image) },
    });
    expect(img.path).toBe(join(home, '.cache/roost/images/debian-12.qcow2'));
    expect((await stat(img.path)).mode & 0o777).toBe(0o600);
    expect((await stat(store.dir)).mode & 0o777).toBe(0o700);
    expect((await readdir(store.dir)).sort()).toEqual(['debian-12.json', 'debian-12.qcow2']);
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['start', 'progress', 'verify', 'done']),
    );

    // Cached: no second download.
    const again = await store.pull('debian-12');
    expect(again.downloaded).toBe(false);
    expect(imageGets()).toHaveLength(1);
    const listed = (await store.list()).find((r) => r.name === 'debian-12');
    expect(listed).toMatchObject({
      cached: true,
      size: image.length,
      os: 'Debian 12 (bookworm)',
      minMemoryMiB: 512,
      minDiskGiB: 4,
    });
    expect(listed!.checksum).toMatch(/^sha512 from https:\/\/cloud\.debian\.org\/.*SHA512SUMS$/);
  });

  it('resumes after the connection drops mid-file', async () => {
    const store = await debianMirror({ drop: { path: `${DEBIAN_DIR}/${DEBIAN_FILE}`, afterBytes: 400_000 } });
    const img = await store.pull('debian-12');
    expect(img.digest.hex).toBe(sha512(image));
    expect(imageGets().map((r) => r.status)).toEqual([200, 206]);
    expect(imageGets()[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(imageGets().reduce((n, r) => n + r.sent, 0)).toBeLessThan(2 * image.length);
  });

  it('on a checksum mismatch throws ChecksumMismatchError and leaves nothing in the cache', async () => {
    const store = await debianMirror({}, `${sha512('not the image')}  ${DEBIAN_FILE}\n`);
    await expect(store.pull('debian-12')).rejects.toBeInstanceOf(ChecksumMismatchError);
    expect(await readdir(store.dir).catch(() => [])).toEqual([]);
    expect((await store.list()).find((r) => r.name === 'debian-12')?.cached).toBe(false);
  });

  it('says so when the checksum file has no line for the image', async () => {
    const store = await debianMirror({}, `${sha512(image)}  something-else.qcow2\n`);
    await expect(store.pull('debian-12')).rejects.toMatchObject({ code: 'IMAGE_CHECKSUM_MISSING' });
    expect(await readdir(store.dir).catch(() => [])).toEqual([]);
  });

  it('coalesces concurrent pulls in one process into one download', async () => {
    const store = await debianMirror({ chunk: { bytes: 64 * 1024, delayMs: 2 } });
    const seen: PullEvent[][] = [[], [], []];
    const all = await Promise.all(
      seen.map((ev) => store.pull('debian-12', { onProgress: (e) => ev.push(e) })),
    );
    expect(imageGets()).toHaveLength(1);
    expect(new Set(all.map((i) => i.path)).size).toBe(1);
    // Every caller got the progress of the shared download.
    for (const ev of seen) expect(ev.some((e) => e.type === 'progress')).toBe(true);
  });

  it('queues a second process behind the lock file: one download, the other finds it cached', async () => {
    const first = await debianMirror({ chunk: { bytes: 64 * 1024, delayMs: 10 } });
    // A second store on the same cache stands in for another roost process.
    const second = createImageStore({ paths, env: { ROOST_IMAGE_MIRROR: server!.url } });
    const waits: PullEvent[] = [];
    const a = first.pull('debian-12');
    await new Promise((r) => setTimeout(r, 30));
    const b = second.pull('debian-12', { onProgress: (e) => waits.push(e) });
    const [ia, ib] = await Promise.all([a, b]);
    expect(imageGets()).toHaveLength(1);
    expect(ia.path).toBe(ib.path);
    expect([ia.downloaded, ib.downloaded]).toEqual([true, false]);
    expect(waits[0]).toMatchObject({ type: 'waiting', pid: process.pid });
    expect(await readdir(first.dir)).not.toContain('debian-12.lock');
  });

  it('takes over a stale lock left by a process that died', async () => {
    const store = await debianMirror();
    await mkdir(store.dir, { recursive: true });
    const dead = spawnSync('true').pid!;
    await writeFile(join(store.dir, 'debian-12.lock'), `${dead}\n${(await import('node:os')).hostname()}\n`);
    await expect(store.pull('debian-12')).resolves.toMatchObject({ downloaded: true });
  });

  it('refuses import-only images with the way to import them', async () => {
    const store = createImageStore({ paths, env: {} });
    await expect(store.pull('rhel-10')).rejects.toMatchObject({
      code: 'IMAGE_IMPORT_ONLY',
      hint: 'then: roost image import FILE --as rhel-10',
    });
    await expect(store.pull('no-such-image')).rejects.toBeInstanceOf(ImageNotFoundError);
  });
});

const have = (tool: string) => spawnSync(tool, ['--version']).status === 0;

describe.each([
  ['xz', ['-z', '-c', '-T1']],
  ['zstd', ['-q', '-c']],
] as const)('image store: %s-compressed downloads', (tool, args) => {
  it.skipIf(!have(tool))('verifies the compressed file, then decompresses it into the cache', async () => {
    const compressed = spawnSync(tool, args, { input: image, maxBuffer: 1 << 26 }).stdout;
    const ext = tool === 'xz' ? 'xz' : 'zst';
    server = await startFileServer({
      files: {
        [`/img.qcow2.${ext}`]: compressed,
        '/SHA256SUMS': `${sha256(compressed)} *img.qcow2.${ext}\n`,
      },
    });
    await mkdir(paths.config, { recursive: true });
    await writeFile(
      join(paths.config, 'images.yaml'),
      `images:\n  - name: packed\n    url: ${server.url}/img.qcow2.${ext}\n    checksum: ${server.url}/SHA256SUMS\n    user: tester\n`,
    );
    const store = createImageStore({ paths, env: {} });
    const events: PullEvent[] = [];
    const img = await store.pull('packed', { onProgress: (e) => events.push(e) });
    expect(img).toMatchObject({ format: 'qcow2', size: image.length });
    expect(sha256(await (await import('node:fs/promises')).readFile(img.path))).toBe(sha256(image));
    expect(events).toContainEqual({ type: 'decompress', image: 'packed', compression: ext });
    expect((await readdir(store.dir)).sort()).toEqual(['packed.json', 'packed.qcow2']);
  });
});

describe('image store: import, resolve, remove', () => {
  it('imports a local file under a catalogue name, lending that entry its user and firmware', async () => {
    const src = join(home, 'rhel.qcow2');
    await writeFile(src, image);
    const store = createImageStore({ paths, env: {} });
    const img = await store.import(src, { as: 'rhel-10' });
    expect(img).toMatchObject({
      name: 'rhel-10',
      source: 'import',
      format: 'qcow2',
      digest: { hex: sha256(image) },
    });
    expect(img.entry).toMatchObject({
      user: 'cloud-user',
      firmware: 'uefi',
      os: 'Red Hat Enterprise Linux 10',
    });
    const row = (await store.list()).find((r) => r.name === 'rhel-10');
    expect(row).toMatchObject({ cached: true, importOnly: true, origin: 'import', user: 'cloud-user' });
    await expect(store.import(src, { as: 'rhel-10' })).rejects.toMatchObject({ code: 'IMAGE_EXISTS' });
    await expect(store.import(src, { as: 'rhel-10', force: true })).resolves.toMatchObject({
      name: 'rhel-10',
    });
  });

  it('imports a raw image under a new name, which then resolves like a catalogue image', async () => {
    const src = join(home, 'tiny.raw');
    await writeFile(src, fixtureRaw(4096));
    const store = createImageStore({ paths, env: {} });
    await store.import(src, { as: 'tiny', user: 'root2', firmware: 'bios' });
    const r = await store.resolve('tiny');
    expect(r).toMatchObject({
      format: 'raw',
      virtualSize: 4096,
      downloaded: false,
      entry: { name: 'tiny', user: 'root2', firmware: 'bios', origin: 'import' },
    });
    expect((await store.list()).find((x) => x.name === 'tiny')).toMatchObject({
      origin: 'import',
      cached: true,
    });
  });

  it('refuses to import an overlay', async () => {
    const src = join(home, 'overlay.qcow2');
    await writeFile(src, fixtureQcow2(8192, 1 << 30, '/somewhere/base.qcow2'));
    const store = createImageStore({ paths, env: {} });
    await expect(store.import(src, { as: 'x' })).rejects.toMatchObject({ code: 'IMAGE_HAS_BACKING_FILE' });
    expect(await readdir(store.dir).catch(() => [])).toEqual([]);
  });

  it('resolves a path to the file itself, and an unknown name to an error', async () => {
    const src = join(home, 'disk.qcow2');
    await writeFile(src, image);
    const store = createImageStore({ paths, env: {} });
    await expect(store.resolve(src)).resolves.toMatchObject({
      path: src,
      format: 'qcow2',
      downloaded: false,
    });
    await expect(store.resolve('nothing-here')).rejects.toBeInstanceOf(ImageNotFoundError);
  });

  it('removes an image, but not while an overlay in the pool uses it (unless forced)', async () => {
    const src = join(home, 'base.qcow2');
    await writeFile(src, image);
    const store = createImageStore({ paths, env: {} });
    const img = await store.import(src, { as: 'base' });
    await mkdir(paths.pool, { recursive: true });
    await writeFile(join(paths.pool, 'web.qcow2'), fixtureQcow2(8192, 1 << 30, img.path));
    await expect(store.remove('base')).rejects.toMatchObject({ code: 'IMAGE_IN_USE' });
    const r = await store.remove('base', { force: true });
    expect(r.removed.map((f) => f.slice(store.dir.length + 1)).sort()).toEqual(['base.json', 'base.qcow2']);
    await expect(store.remove('base')).rejects.toBeInstanceOf(ImageNotFoundError);
  });
});
