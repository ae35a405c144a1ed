// Pulls and imports interrupted (an aborted signal, as the CLI's SIGINT/SIGTERM/SIGHUP trap aborts it) at each
// step boundary and mid-download, and a full disk under each write: what is kept, what the error says, and that
// the next pull resumes (or finishes) with a correct digest. The same through the real CLI, with signals and a
// real full tmpfs: test/faults/image-pull.test.ts.
import { spawnSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InterruptedError } from '../errors.js';
import { roostPaths, type RoostPaths } from '../paths.js';
import { decompressFile } from './decompress.js';
import { createImageStore, type ImageStore } from './store.js';
import { fixtureQcow2, sha256, startFileServer, type FileServer } from './testing.js';
import type { PullEvent } from './types.js';

const image = fixtureQcow2(2 << 20);
const packed = gzipSync(image);
let home: string;
let paths: RoostPaths;
let server: FileServer | undefined;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'roost-interrupt-'));
  paths = roostPaths({ HOME: home });
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(home, { recursive: true, force: true });
});

/** A store whose images.yaml has `plain` (checksum file beside it) and `packed` (gzip, digest in the entry). */
async function storeWith(opts: { holdAfter?: number } = {}): Promise<ImageStore> {
  server = await startFileServer({
    files: {
      '/plain.qcow2': image,
      '/SHA256SUMS': `${sha256(image)}  plain.qcow2\n`,
      '/packed.qcow2.gz': packed,
    },
    hold: opts.holdAfter !== undefined ? { path: '/plain.qcow2', afterBytes: opts.holdAfter } : undefined,
  });
  await mkdir(paths.config, { recursive: true });
  await writeFile(
    join(paths.config, 'images.yaml'),
    [
      'images:',
      `  - { name: plain, url: '${server.url}/plain.qcow2', checksum: SHA256SUMS, user: tester }`,
      `  - { name: packed, url: '${server.url}/packed.qcow2.gz', checksum: 'sha256:${sha256(packed)}', user: tester }`,
      '',
    ].join('\n'),
  );
  return createImageStore({ paths, env: {}, download: { retryDelayMs: 5, progressIntervalMs: 0 } });
}

const cacheFiles = async (store: ImageStore) => (await readdir(store.dir).catch(() => [])).sort();
const gets = (file: string) => server!.requests.filter((r) => r.path === `/${file}`);

/** Aborts (as SIGINT does) when the pull reaches `step`. */
function interruptAt(step: string) {
  const ac = new AbortController();
  const boundary = (s: string) => {
    if (s === step) ac.abort('SIGINT');
    return Promise.resolve();
  };
  return { signal: ac.signal, boundary };
}

describe('an interrupted pull', () => {
  it.each(['lock', 'checksum', 'download'])(
    'before %s: exit as interrupted, nothing in the cache, and the next pull works',
    async (step) => {
      const store = await storeWith();
      const err = await store.pull('plain', interruptAt(step)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InterruptedError);
      expect(err).toMatchObject({
        signal: 'SIGINT',
        message: 'roost image pull plain was interrupted (SIGINT): nothing was added to the cache',
      });
      expect(await cacheFiles(store)).toEqual([]);
      const img = await store.pull('plain');
      expect(sha256(await readFile(img.path))).toBe(sha256(image));
    },
  );

  it.each([
    ['plain', 'check'],
    ['plain', 'commit'],
    ['packed', 'decompress'],
    ['packed', 'check'],
    ['packed', 'commit'],
  ])(
    '%s before %s: keeps the verified download only, and the next pull checks it without fetching it again',
    async (name, step) => {
      const store = await storeWith();
      const err = await store.pull(name, interruptAt(step)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InterruptedError);
      expect((err as Error).message).toContain('the verified download is kept');
      expect((err as InterruptedError).hint).toContain(`roost image pull ${name}`);
      expect(await cacheFiles(store)).toEqual([`${name}.part`, `${name}.part.json`]);
      const file = name === 'plain' ? 'plain.qcow2' : 'packed.qcow2.gz';
      const img = await store.pull(name);
      expect(sha256(await readFile(img.path))).toBe(sha256(image));
      expect(gets(file).map((r) => r.status)).toEqual([200, 416]);
      expect(await cacheFiles(store)).toEqual([`${name}.json`, `${name}.qcow2`]);
    },
  );

  it('mid-download: keeps the partial file, and the next pull resumes from it', async () => {
    const store = await storeWith({ holdAfter: 600_000 });
    const ac = new AbortController();
    const received: number[] = [];
    const pulling = store.pull('plain', {
      signal: ac.signal,
      onProgress: (e: PullEvent) => e.type === 'progress' && received.push(e.received),
    });
    await server!.held;
    while (!received.length) await new Promise((r) => setTimeout(r, 5));
    ac.abort('SIGTERM');
    const err = await pulling.catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INTERRUPTED', signal: 'SIGTERM' });
    expect((err as Error).message).toMatch(/the partial download is kept \(.*plain\.part, \d+ bytes\)/);
    expect(await cacheFiles(store)).toEqual(['plain.part', 'plain.part.json']);
    const kept = (await stat(join(store.dir, 'plain.part'))).size;
    expect(kept).toBeGreaterThanOrEqual(received.at(-1)!);
    expect(kept).toBeLessThanOrEqual(600_000);
    server!.release();
    const img = await store.pull('plain');
    expect(sha256(await readFile(img.path))).toBe(sha256(image));
    expect(gets('plain.qcow2').at(-1)).toMatchObject({ status: 206, range: `bytes=${kept}-` });
  });

  it('after the commit: the pull finishes, the image is cached', async () => {
    const store = await storeWith();
    const img = await store.pull('plain', interruptAt('done'));
    expect(img.downloaded).toBe(true);
    expect(await cacheFiles(store)).toEqual(['plain.json', 'plain.qcow2']);
  });
});

describe('an interrupted import', () => {
  it.each([
    ['plain.qcow2', 'copy'],
    ['plain.qcow2', 'check'],
    ['plain.qcow2', 'hash'],
    ['plain.qcow2', 'commit'],
    ['packed.qcow2.gz', 'decompress'],
  ])('of %s before %s: nothing in the cache; the import works again', async (file, step) => {
    const store = await storeWith();
    const src = join(home, file);
    await writeFile(src, file.endsWith('.gz') ? packed : image);
    const err = await store.import(src, { as: 'mine', ...interruptAt(step) }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'INTERRUPTED',
      message: `roost image import ${src} was interrupted (SIGINT): nothing was added to the cache`,
    });
    expect(await cacheFiles(store)).toEqual([]);
    expect((await store.import(src, { as: 'mine' })).digest.hex).toBe(sha256(image));
  });

  it('with --force before the commit: the image it was to replace stays', async () => {
    const store = await storeWith();
    const src = join(home, 'plain.qcow2');
    await writeFile(src, image);
    const first = await store.import(src, { as: 'mine' });
    await expect(
      store.import(src, { as: 'mine', force: true, ...interruptAt('commit') }),
    ).rejects.toBeInstanceOf(InterruptedError);
    expect(await cacheFiles(store)).toEqual(['mine.json', 'mine.qcow2']);
    expect((await store.list()).find((r) => r.name === 'mine')).toMatchObject({
      cached: true,
      size: first.size,
    });
  });
});

/** An errno error's code and the path it names. */
const errnoOf = (e: unknown) => {
  for (let c = e; c instanceof Error; c = c.cause) {
    const x = c as NodeJS.ErrnoException;
    if (x.code === 'ENOSPC') return { code: x.code, path: x.path };
  }
  return undefined;
};

// /dev/full takes open() and fails every write with ENOSPC: a real full disk, at the exact file roost writes.
describe('a full disk names the file being written', () => {
  it('the download (NAME.part): ENOSPC with its path, not a download error', async () => {
    const store = await storeWith();
    await mkdir(store.dir, { recursive: true });
    const part = join(store.dir, 'plain.part');
    await symlink('/dev/full', part);
    const err = await store.pull('plain').catch((e: unknown) => e);
    expect(errnoOf(err)).toEqual({ code: 'ENOSPC', path: part });
    expect((err as { code?: string }).code).not.toBe('IMAGE_DOWNLOAD_FAILED');
    expect((await lstat(part)).isSymbolicLink()).toBe(true);
  });

  it('decompression: ENOSPC naming the output file', async () => {
    const src = join(home, 'x.gz');
    await writeFile(src, packed);
    const err = await decompressFile(src, '/dev/full', 'gz').catch((e: unknown) => e);
    expect(errnoOf(err)).toEqual({ code: 'ENOSPC', path: '/dev/full' });
  });

  it.skipIf(spawnSync('xz', ['--version']).status !== 0)(
    'decompression by xz: ENOSPC naming the output file',
    async () => {
      const src = join(home, 'x.xz');
      await writeFile(src, spawnSync('xz', ['-z', '-c', '-T1'], { input: image }).stdout);
      const err = await decompressFile(src, '/dev/full', 'xz').catch((e: unknown) => e);
      expect(errnoOf(err)).toEqual({ code: 'ENOSPC', path: '/dev/full' });
    },
  );
});
