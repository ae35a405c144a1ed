// The download path through the CLI, as the unprivileged test user: `roost image pull` and a first `roost create
// --image NAME` fetch a catalogue image from a local mirror on 127.0.0.1 (ROOST_IMAGE_MIRROR, laid out by host
// as real mirrors are), verify it against the SHA512SUMS beside it, and report progress as JSON lines with
// --json. A wrong checksum fails with nothing cached. The cache is a private XDG_CACHE_HOME, so the test user's
// own cache (which holds the test guests) is never touched.
// Then hostile input (docs/images.md, "What roost refuses"): a qcow2 whose external data file is a host file
// (made by the real qemu-img), a FIFO, a text file, a traversal name — through create, import, rm and a pull.
import { execFileSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha512, startFileServer, type FileServer } from '../../src/images/testing.js';
import { CLI, createScope, domainNames, harness, runAs } from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('images', user, uri);
const DEBIAN_DIR = '/cloud.debian.org/images/cloud/bookworm/latest';
const DEBIAN_FILE = 'debian-12-genericcloud-amd64.qcow2';
// A real qcow2 (qemu-img makes it), so that libvirt can put an overlay on it when create uses it.
let image: Buffer;

let good: FileServer;
let bad: FileServer;
let cacheHome: string;
const imagesDir = () => join(cacheHome, 'roost', 'images');

function roostWith(mirror: string, args: string[], timeoutMs = 120_000) {
  return runAs(user, process.execPath, [CLI, ...args], {
    check: false,
    timeoutMs,
    env: { ROOST_IMAGE_MIRROR: mirror, XDG_CACHE_HOME: cacheHome },
  });
}

const events = (stderr: string) =>
  stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; image?: string; received?: number; total?: number });

beforeAll(async () => {
  const made = join(scope.dir, 'made.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', made, '2G']);
  image = readFileSync(made);
  cacheHome = join(scope.dir, 'cache');
  mkdirSync(cacheHome, { mode: 0o700 });
  if (process.getuid?.() === 0) chownSync(cacheHome, user.uid, user.gid);
  good = await startFileServer({
    files: {
      [`${DEBIAN_DIR}/${DEBIAN_FILE}`]: image,
      [`${DEBIAN_DIR}/SHA512SUMS`]: `${sha512(image)}  ${DEBIAN_FILE}\n`,
    },
  });
  bad = await startFileServer({
    files: {
      [`${DEBIAN_DIR}/${DEBIAN_FILE}`]: image,
      [`${DEBIAN_DIR}/SHA512SUMS`]: `${sha512('something else')}  ${DEBIAN_FILE}\n`,
    },
  });
});
afterAll(async () => {
  await good?.close();
  await bad?.close();
  await scope.cleanup();
  rmSync(scope.dir, { recursive: true, force: true });
});

describe('roost image pull and a first create, from a local mirror', () => {
  it('refuses an image whose checksum does not match: exit 1, nothing cached, no partial file', async () => {
    const r = await roostWith(bad.url, ['image', 'pull', 'debian-12']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/checksum/i);
    expect(existsSync(imagesDir()) ? readdirSync(imagesDir()) : []).toEqual([]);
  });

  it('pulls with --json: progress events as JSON lines on stderr, the result on stdout', async () => {
    const r = await roostWith(good.url, ['image', 'pull', 'debian-12', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const types = events(r.stderr).map((e) => e.type);
    expect(types[0]).toBe('start');
    expect(types).toEqual(expect.arrayContaining(['progress', 'verify', 'done']));
    const done = JSON.parse(r.stdout) as {
      name: string;
      downloaded: boolean;
      path: string;
      digest: { algorithm: string };
    };
    expect(done).toMatchObject({ name: 'debian-12', downloaded: true, digest: { algorithm: 'sha512' } });
    expect(done.path).toBe(join(imagesDir(), 'debian-12.qcow2'));
    expect(statSync(done.path).size).toBe(image.length);
    expect(statSync(done.path).mode & 0o777).toBe(0o600);
    expect(good.requests.filter((q) => q.path.endsWith('.qcow2'))).toHaveLength(1);
  });

  it('a second pull uses the cache, and says so', async () => {
    const r = await roostWith(good.url, ['image', 'pull', 'debian-12']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^already cached: debian-12 \(qcow2, .*sha512 verified\)/);
    expect(good.requests.filter((q) => q.path.endsWith('.qcow2'))).toHaveLength(1);
  });

  it('create --image NAME downloads a missing image first, reporting it as JSON lines with --json', async () => {
    rmSync(imagesDir(), { recursive: true, force: true });
    const name = scope.name('vm');
    const r = await roostWith(good.url, [
      '--connect',
      uri,
      'create',
      name,
      '--image',
      'debian-12',
      '--no-start',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const ev = events(r.stderr);
    expect(ev.map((e) => e.type)).toEqual(expect.arrayContaining(['start', 'progress', 'verify', 'done']));
    expect(ev.find((e) => e.type === 'start')).toMatchObject({ image: 'debian-12', total: image.length });
    const made = JSON.parse(r.stdout) as { name: string; state: string; sshUser: string };
    expect(made).toMatchObject({ name, state: 'shutoff', sshUser: 'debian' });
    expect(existsSync(join(imagesDir(), 'debian-12.qcow2'))).toBe(true);
    expect(good.requests.filter((q) => q.path.endsWith('.qcow2'))).toHaveLength(2);
  });
});

describe('images roost refuses: exit 2, a clear message, nothing created or deleted', () => {
  const qemuImg = (...args: string[]) => execFileSync('qemu-img', args, { stdio: 'pipe' });
  let secret: string;
  let evil: string;
  let fifo: string;
  let goodRaw: string;

  beforeAll(() => {
    secret = join(scope.dir, 'id_ed25519');
    writeFileSync(
      secret,
      '-----BEGIN OPENSSH PRIVATE KEY-----\nnot really\n-----END OPENSSH PRIVATE KEY-----\n',
    );
    // As the attack: an image made with a harmless data file, then pointed at the secret by amend.
    evil = join(scope.dir, 'evil.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', '-o', `data_file=${join(scope.dir, 'harmless')}`, evil, '64M');
    qemuImg('amend', '-f', 'qcow2', '-o', `data_file=${secret}`, evil);
    fifo = join(scope.dir, 'fifo.qcow2');
    execFileSync('mkfifo', [fifo]);
    goodRaw = join(scope.dir, 'good.raw');
    execFileSync('truncate', ['-s', '16M', goodRaw]);
    execFileSync('mkfs.ext4', ['-q', '-F', goodRaw], { stdio: 'ignore' });
    for (const f of [secret, evil, goodRaw, join(scope.dir, 'harmless')])
      if (process.getuid?.() === 0) chownSync(f, user.uid, user.gid);
  });

  // A refusal takes a moment: a roost still running after 20 s is blocked (on a FIFO, say) and is killed.
  const create = (name: string, ...args: string[]) =>
    roostWith(good.url, ['--connect', uri, 'create', name, '--no-start', ...args], 20_000);

  async function refusedCreate(args: string[], message: RegExp) {
    const name = scope.name('bad');
    const r = await create(name, ...args);
    expect(r.signal, 'roost hung').toBeNull();
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
    expect(await domainNames(uri)).not.toContain(name);
  }

  it('create --image: a qcow2 whose external data file is a host file (qemu-img amend -o data_file=)', () =>
    refusedCreate(['--image', evil, '--no-cloud-init'], /external data file \('.*id_ed25519'\)/));

  it('create --image /etc/hostname --disk 10G: not a disk image', () =>
    refusedCreate(['--image', '/etc/hostname', '--disk', '10G'], /'\/etc\/hostname' is not a disk image/));

  it('create --image FIFO: refused at once, never blocks', () =>
    refusedCreate(['--image', fifo], /is not a regular file \(a FIFO\)/));

  it('create --iso of a file that is no ISO, --kernel of a FIFO', async () => {
    await refusedCreate(['--iso', '/etc/hostname'], /is not an ISO image/);
    await refusedCreate(['--kernel', fifo], /kernel '.*' is not a regular file \(a FIFO\)/);
  });

  it('image import: the data-file qcow2 and the FIFO', async () => {
    for (const [file, message] of [
      [evil, /external data file/],
      [fifo, /not a regular file \(a FIFO\)/],
    ] as const) {
      const r = await roostWith(good.url, ['image', 'import', file, '--as', 'evil'], 20_000);
      expect(r.signal, 'roost hung').toBeNull();
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(join(imagesDir(), 'evil.json'))).toBe(false);
    }
  });

  it('image pull: a mirror serving a data-file qcow2 (correct checksum) gets nothing into the cache', async () => {
    rmSync(imagesDir(), { recursive: true, force: true });
    const bytes = readFileSync(evil);
    const hostile = await startFileServer({
      files: {
        [`${DEBIAN_DIR}/${DEBIAN_FILE}`]: bytes,
        [`${DEBIAN_DIR}/SHA512SUMS`]: `${sha512(bytes)}  ${DEBIAN_FILE}\n`,
      },
    });
    try {
      const r = await roostWith(hostile.url, ['image', 'pull', 'debian-12']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/external data file/);
      expect(existsSync(imagesDir()) ? readdirSync(imagesDir()) : []).toEqual([]);
    } finally {
      await hostile.close();
    }
  });

  it('image rm ../../victim: exit 2, the planted files stay', async () => {
    mkdirSync(imagesDir(), { recursive: true });
    if (process.getuid?.() === 0) chownSync(imagesDir(), user.uid, user.gid);
    const victims = ['victim.qcow2', 'victim.part', 'victim.json'].map((f) => join(cacheHome, f));
    for (const v of victims) {
      writeFileSync(v, 'precious');
      if (process.getuid?.() === 0) chownSync(v, user.uid, user.gid);
    }
    for (const ref of ['../../victim', '../victim', '/etc/passwd', '.json']) {
      const r = await roostWith(good.url, ['image', 'rm', ref, '--force']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/is not a valid image name/);
    }
    for (const v of victims) expect(readFileSync(v, 'utf8')).toBe('precious');
  });

  it('a good qcow2 and a raw filesystem image are still accepted', async () => {
    const plain = join(scope.dir, 'plain.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', plain, '64M');
    if (process.getuid?.() === 0) chownSync(plain, user.uid, user.gid);
    for (const [label, image] of [
      ['ok-qcow2', plain],
      ['ok-raw', goodRaw],
    ] as const) {
      const name = scope.name(label);
      const r = await create(name, '--image', image, '--no-cloud-init', '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(await domainNames(uri)).toContain(name);
    }
  });
});
