// Faults during `roost image pull` and `roost image import`, through the built CLI as the test user: SIGINT,
// SIGTERM or SIGHUP at each step boundary (the step hook, src/vm/steps.ts: image-pull:lock … image-pull:done)
// and mid-download (the local mirror holds its answer at a byte, so the moment is exact), and a full
// filesystem under the cache (a 1 MiB tmpfs, root only). After each: the exit code and message; the cache
// holds nothing but what the message says it kept (the partial or verified download), roost's and libvirt's
// inventory is unchanged; and the next pull resumes or finishes with the right digest.
// Neither command talks to libvirt, so there is no daemon to kill here (`create --image NAME` pulls inside
// create's own `image` step: test/faults/create.test.ts).
import { chownSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureQcow2, sha256, startFileServer, type FileServer } from '../../src/images/testing.js';
import { CLI, createScope, harness, run, runAs, type RunResult } from '../harness/index.js';
import { expectCleanMessage, inventory, runHooked, type Inventory } from './faults.js';

const { user, uri } = harness();
const scope = createScope('faultimg', user, uri);
const image = fixtureQcow2(4 << 20);
const packed = gzipSync(image);
const HOLD_AT = 1 << 20;
let server: FileServer;
let configHome: string;
let before: Inventory;
let caches = 0;

const asUser = (path: string) => {
  if (process.getuid?.() === 0) chownSync(path, user.uid, user.gid);
  return path;
};

/** An images.yaml naming `plain` (SHA256SUMS beside it) and `packed` (gzip, digest in the entry) at `url`. */
function writeConfig(dir: string, url: string): void {
  mkdirSync(join(dir, 'roost'), { recursive: true });
  const yaml = [
    'images:',
    `  - { name: plain, url: '${url}/plain.qcow2', checksum: SHA256SUMS, user: tester }`,
    `  - { name: packed, url: '${url}/packed.qcow2.gz', checksum: 'sha256:${sha256(packed)}', user: tester }`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'roost', 'images.yaml'), yaml);
  asUser(dir);
  asUser(join(dir, 'roost'));
  asUser(join(dir, 'roost', 'images.yaml'));
}

async function mirror(hold?: boolean): Promise<FileServer> {
  return startFileServer({
    files: {
      '/plain.qcow2': image,
      '/SHA256SUMS': `${sha256(image)}  plain.qcow2\n`,
      '/packed.qcow2.gz': packed,
    },
    hold: hold ? { path: '/plain.qcow2', afterBytes: HOLD_AT } : undefined,
  });
}

/** A fresh private XDG_CACHE_HOME, so each test starts from an empty image cache. */
function freshCache(): string {
  const dir = join(scope.dir, `cache-${++caches}`);
  mkdirSync(dir, { mode: 0o700 });
  return asUser(dir);
}

const envFor = (cacheHome: string, config = configHome) => ({
  XDG_CACHE_HOME: cacheHome,
  XDG_CONFIG_HOME: config,
});

/** The files under the image cache, relative to it. */
function cacheFiles(cacheHome: string): string[] {
  const dir = join(cacheHome, 'roost', 'images');
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((e) =>
      statSync(join(d, e)).isDirectory() ? walk(join(d, e)) : [relative(dir, join(d, e))],
    );
  return statSync(dir, { throwIfNoEntry: false }) ? walk(dir).sort() : [];
}

function roostWith(cacheHome: string, args: string[], config = configHome): Promise<RunResult> {
  return runAs(user, process.execPath, [CLI, ...args], { check: false, env: envFor(cacheHome, config) });
}

/** A pull that works now: exit 0, the cached file has the published digest. */
async function expectPullWorks(cacheHome: string, name: string, config = configHome): Promise<void> {
  const r = await roostWith(cacheHome, ['image', 'pull', name, '--json'], config);
  expect(r.code, r.stderr).toBe(0);
  const img = JSON.parse(r.stdout) as { path: string; downloaded: boolean };
  expect(img.downloaded).toBe(true);
  expect(sha256(readFileSync(img.path))).toBe(sha256(image));
  expect(cacheFiles(cacheHome)).toEqual([`${name}.json`, `${name}.qcow2`]);
}

beforeAll(async () => {
  server = await mirror();
  configHome = join(scope.dir, 'config');
  writeConfig(configHome, server.url);
  before = await inventory(user, uri);
});
afterAll(async () => {
  await server?.close();
  await scope.cleanup();
});

describe('Ctrl-C during image pull', () => {
  it.each(['lock', 'checksum', 'download'])(
    'at image-pull:%s: exit 130, nothing cached or kept, and a retry pulls it',
    async (step) => {
      const cache = freshCache();
      const pull = runHooked(user, ['image', 'pull', 'plain'], `image-pull:${step}`, envFor(cache));
      await pull.marker(`paused before image-pull:${step}`);
      pull.signal('SIGINT');
      const r = await pull.done;
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toContain(
        'roost image pull plain was interrupted (SIGINT): nothing was added to the cache',
      );
      expectCleanMessage(r.stderr);
      expect(cacheFiles(cache)).toEqual([]);
      expect(await inventory(user, uri)).toEqual(before);
      await expectPullWorks(cache, 'plain');
    },
  );

  it.each([
    ['plain', 'check'],
    ['plain', 'commit'],
    ['packed', 'decompress'],
    ['packed', 'check'],
  ])(
    '%s at image-pull:%s: exit 130, only the verified download is kept, and a retry finishes without fetching it again',
    async (name, step) => {
      const cache = freshCache();
      const file = name === 'plain' ? '/plain.qcow2' : '/packed.qcow2.gz';
      const fetchedBefore = server.requests.filter((q) => q.path === file).length;
      const pull = runHooked(user, ['image', 'pull', name], `image-pull:${step}`, envFor(cache));
      await pull.marker(`paused before image-pull:${step}`);
      pull.signal('SIGINT');
      const r = await pull.done;
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toContain(
        `roost image pull ${name} was interrupted (SIGINT): the image is not cached`,
      );
      expect(r.stderr).toContain('the verified download is kept');
      expect(r.stderr).toContain(`fix: finish with: roost image pull ${name}`);
      expectCleanMessage(r.stderr);
      expect(cacheFiles(cache)).toEqual([`${name}.part`, `${name}.part.json`]);
      expect(await inventory(user, uri)).toEqual(before);
      await expectPullWorks(cache, name);
      const asked = server.requests.filter((q) => q.path === file).slice(fetchedBefore);
      expect(asked.map((q) => q.status)).toEqual([200, 416]);
    },
  );

  it('after the image is cached (image-pull:done): the pull finishes, says so, and exits 130', async () => {
    const cache = freshCache();
    const pull = runHooked(user, ['image', 'pull', 'plain'], 'image-pull:done', envFor(cache));
    await pull.marker('paused before image-pull:done');
    pull.signal('SIGINT');
    const r = await pull.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toMatch(/^downloaded plain \(qcow2/);
    expect(r.stderr).toContain('the image was cached before the SIGINT took effect');
    expect(cacheFiles(cache)).toEqual(['plain.json', 'plain.qcow2']);
    expect(sha256(readFileSync(join(cache, 'roost', 'images', 'plain.qcow2')))).toBe(sha256(image));
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s stops it the same way (exit %i)', async (sig, code) => {
    const cache = freshCache();
    const pull = runHooked(user, ['image', 'pull', 'plain'], 'image-pull:download', envFor(cache));
    await pull.marker('paused before image-pull:download');
    pull.signal(sig);
    const r = await pull.done;
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toContain(`roost image pull plain was interrupted (${sig})`);
    expect(cacheFiles(cache)).toEqual([]);
  });
});

describe('Ctrl-C mid-download', () => {
  let held: FileServer;
  let heldConfig: string;
  beforeAll(async () => {
    held = await mirror(true);
    heldConfig = join(scope.dir, 'config-held');
    writeConfig(heldConfig, held.url);
  });
  afterAll(() => held?.close());

  it('keeps the partial download and says how to resume; the next pull resumes from its last byte', async () => {
    const cache = freshCache();
    const pull = runHooked(user, ['image', 'pull', 'plain', '--json'], '', envFor(cache, heldConfig));
    // The mirror stops at HOLD_AT bytes until released, and roost has written some of them.
    await held.held;
    await pull.marker('"type":"progress"');
    pull.signal('SIGINT');
    const r = await pull.done;
    expect(r.code, r.stderr).toBe(130);
    const error = JSON.parse(r.stderr.trim().split('\n').at(-1)!) as {
      error: { code: string; message: string; hint: string };
    };
    expect(error.error.code).toBe('INTERRUPTED');
    expect(error.error.message).toMatch(
      /^roost image pull plain was interrupted \(SIGINT\): the image is not cached; the partial download is kept \(.*\/plain\.part, \d+ bytes\)$/,
    );
    expect(error.error.hint).toBe(
      'resume it with: roost image pull plain   (or delete it: roost image rm plain)',
    );
    expect(cacheFiles(cache)).toEqual(['plain.part', 'plain.part.json']);
    const kept = statSync(join(cache, 'roost', 'images', 'plain.part')).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(HOLD_AT);
    expect(sha256(readFileSync(join(cache, 'roost', 'images', 'plain.part')))).toBe(
      sha256(image.subarray(0, kept)),
    );
    expect(await inventory(user, uri)).toEqual(before);
    held.release();
    await expectPullWorks(cache, 'plain', heldConfig);
    expect(held.requests.filter((q) => q.path === '/plain.qcow2').at(-1)).toMatchObject({
      status: 206,
      range: `bytes=${kept}-`,
    });
  });
});

describe('Ctrl-C during image import', () => {
  it.each([
    ['plain.qcow2', 'copy'],
    ['plain.qcow2', 'check'],
    ['plain.qcow2', 'hash'],
    ['plain.qcow2', 'commit'],
    ['packed.qcow2.gz', 'decompress'],
  ])(
    'of %s at image-import:%s: exit 130, nothing in the cache, and a retry imports it',
    async (file, step) => {
      const cache = freshCache();
      const src = join(scope.dir, `${caches}-${file}`);
      writeFileSync(src, file.endsWith('.gz') ? packed : image);
      asUser(src);
      const args = ['image', 'import', src, '--as', 'mine'];
      const imp = runHooked(user, args, `image-import:${step}`, envFor(cache));
      await imp.marker(`paused before image-import:${step}`);
      imp.signal('SIGINT');
      const r = await imp.done;
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toContain(
        `roost image import ${src} was interrupted (SIGINT): nothing was added to the cache`,
      );
      expectCleanMessage(r.stderr);
      expect(cacheFiles(cache)).toEqual([]);
      const again = await roostWith(cache, args);
      expect(again.code, again.stderr).toBe(0);
      expect(cacheFiles(cache)).toEqual(['mine.json', 'mine.qcow2']);
      expect(sha256(readFileSync(join(cache, 'roost', 'images', 'mine.qcow2')))).toBe(sha256(image));
    },
  );
});

describe('a full disk under the image cache', () => {
  // A 1 MiB tmpfs the test mounts (root only) as XDG_CACHE_HOME: the 4 MiB image cannot fit.
  const onTmpfs = async (body: (mnt: string) => Promise<void>) => {
    const mnt = join(scope.dir, `full-${++caches}`);
    mkdirSync(mnt);
    await run('mount', [
      '-t',
      'tmpfs',
      '-o',
      `size=1m,mode=0700,uid=${user.uid},gid=${user.gid}`,
      'tmpfs',
      mnt,
    ]);
    try {
      await body(mnt);
    } finally {
      await run('umount', [mnt], { check: false });
    }
  };

  it.skipIf(process.getuid?.() !== 0)(
    'pull: NO_SPACE naming the partial file and the fix (exit 1); with space again, the pull resumes',
    () =>
      onTmpfs(async (mnt) => {
        const dir = join(mnt, 'roost', 'images');
        const r = await roostWith(mnt, ['image', 'pull', 'plain']);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toContain(`roost: no space left on device: cannot write ${join(dir, 'plain.part')}`);
        expect(r.stderr).toContain(`fix: free space on that filesystem (see: df -h ${dir})`);
        expectCleanMessage(r.stderr);
        const json = await roostWith(mnt, ['image', 'pull', 'plain', '--json']);
        expect(json.stderr).toContain('"code":"NO_SPACE"');
        expect(cacheFiles(mnt)).toEqual(['plain.part', 'plain.part.json']);
        const kept = statSync(join(dir, 'plain.part')).size;
        expect(kept).toBeGreaterThan(0);
        await run('mount', ['-o', 'remount,size=16m', mnt]);
        await expectPullWorks(mnt, 'plain');
        expect(server.requests.filter((q) => q.path === '/plain.qcow2').at(-1)).toMatchObject({
          status: 206,
          range: `bytes=${kept}-`,
        });
      }),
  );

  it.skipIf(process.getuid?.() !== 0)(
    'import: NO_SPACE naming the file written (exit 1), and nothing left in the cache',
    () =>
      onTmpfs(async (mnt) => {
        const src = join(scope.dir, `${caches}-big.qcow2`);
        writeFileSync(src, image);
        asUser(src);
        const r = await roostWith(mnt, ['image', 'import', src, '--as', 'mine']);
        expect(r.code, r.stderr).toBe(1);
        const dir = join(mnt, 'roost', 'images');
        expect(r.stderr).toContain(
          `roost: no space left on device: cannot write ${join(dir, 'mine.import-tmp')}`,
        );
        expect(r.stderr).toContain(`df -h ${dir}`);
        expectCleanMessage(r.stderr);
        expect(cacheFiles(mnt)).toEqual([]);
      }),
  );
});
