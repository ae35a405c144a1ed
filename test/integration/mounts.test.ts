// Shared folders through the built CLI, as the unprivileged test user, with the tiny guest (which mounts every 9p
// tag it finds at /mnt/TAG, serves it over HTTP, and writes into it through /cgi-bin/put): what the host writes,
// the guest reads; what the guest writes to a read-write share lands on the host as the user's own file, and a
// read-only share refuses it; a symlink in a share does not lead the guest out of it. Bad --mount input is
// refused with exit 2 and nothing made; mount add/rm change the definition and apply at the next start.
import {
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roostPaths } from '../../src/paths.js';
import type { MountList, VmDetails } from '../../src/shared/api-types.js';
import {
  createScope,
  domainNames,
  freePort,
  harness,
  httpGet,
  roost,
  roostJson,
  tinyCreateArgs,
  tinyGuest,
  userEnv,
  virsh,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('mounts', user, uri);
const guest = tinyGuest(user);
const paths = roostPaths(userEnv(user));

const share = join(scope.dir, 'share');
const readonly = join(scope.dir, 'readonly');
const extra = join(scope.dir, 'extra');
const secret = join(scope.dir, 'secret.txt');

/** A directory or file the test user owns, as it would be its own. */
function own(path: string): string {
  if (process.getuid?.() === 0) chownSync(path, user.uid, user.gid);
  return path;
}
function writeOwn(path: string, text: string): void {
  writeFileSync(path, text);
  own(path);
}

function post(port: number, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        timeout: 10_000,
        headers: { 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(() => {
  for (const d of [share, readonly, extra]) own((mkdirSync(d, { mode: 0o755 }), d));
  writeOwn(join(share, 'hello.txt'), 'hello from the host\n');
  writeOwn(join(readonly, 'notes.txt'), 'read-only notes\n');
  writeOwn(join(extra, 'later.txt'), 'added later\n');
  writeOwn(secret, 'outside every share\n');
  // Links that point out of the share, by a relative and an absolute path.
  symlinkSync('../secret.txt', join(share, 'up'));
  symlinkSync(secret, join(share, 'abs'));
});
afterAll(() => scope.cleanup());

describe('bad --mount input: exit 2, nothing created', () => {
  const name = scope.name('bad');
  const cases: [string, string[], RegExp][] = [
    ['a missing directory', ['--mount', join(scope.dir, 'nope')], /does not exist/],
    ['a file', ['--mount', secret], /not a directory/],
    ["the host's root", ['--mount', '/:/host'], /root directory/],
    ['the whole home', ['--mount', `${user.home}:/h`], /whole home directory.*--mount-home/],
    ['a relative guest dir', ['--mount', `${share}:share`], /not an absolute path/],
    ["the guest's /etc", ['--mount', `${share}:/etc`], /hide the guest's own \/etc/],
    [
      'two mounts on one guest dir',
      ['--mount', `${share}:/x`, '--mount', `${readonly}:/x`],
      /two shared folders/,
    ],
    ['a path with a colon too many', ['--mount', `${share}:/a:/b`], /HOSTDIR\[:GUESTDIR\]\[:ro\]/],
  ];
  it.each(cases)('refuses %s', async (_what, args, message) => {
    const r = await roost(user, ['create', name, ...tinyCreateArgs(guest), ...args]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(await domainNames(uri)).not.toContain(name);
  });

  it('refuses --mount-type virtiofs on a host without virtiofsd, saying where one comes from', async () => {
    const r = await roost(user, [
      'create',
      name,
      ...tinyCreateArgs(guest),
      '--mount',
      share,
      '--mount-type',
      'virtiofs',
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/virtiofs is not possible here: no virtiofsd/);
    expect(r.stderr).toMatch(/cargo install virtiofsd/);
    expect(await domainNames(uri)).not.toContain(name);
    expect(existsSync(join(paths.logs, `${name}.serial.log`))).toBe(false);
  });
});

describe('a tiny guest with a read-write and a read-only 9p share', () => {
  const name = scope.name('vm');
  let port: number;

  it('creates the VM with both shares as <filesystem> devices, recorded with their guest dirs', async () => {
    port = await freePort();
    const r = await roostJson<{
      state: string;
      mounts: {
        tag: string;
        guestDir: string;
        mode: string;
        type: string;
        bySeed: boolean;
        guestCommand: string;
      }[];
    }>(
      user,
      [
        'create',
        name,
        ...tinyCreateArgs(guest),
        '--port',
        `127.0.0.1:${port}:80`,
        '--mount',
        `${share}:/share`,
        '--mount',
        `${readonly}:/ro:ro`,
        '--wait',
        'port:80',
      ],
      // As long as the CLI's own wait may take (--wait-timeout 600): a TCG boot's length follows the host's load.
      { timeoutMs: 600_000 },
    );
    expect(r.state).toBe('running');
    expect(r.mounts.map((m) => [m.tag, m.guestDir, m.mode, m.type, m.bySeed])).toEqual([
      ['roost0', '/share', 'rw', '9p', false],
      ['roost1', '/ro', 'ro', '9p', false],
    ]);
    expect(r.mounts[1]!.guestCommand).toBe(
      'mkdir -p /ro && mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro roost1 /ro',
    );
    // libvirt's own view: two filesystem devices, squash access, the read-only one marked so.
    const xml = (await virsh(uri, ['dumpxml', '--inactive', name])).stdout;
    expect(xml).toMatch(
      /<filesystem type='mount' accessmode='squash'>\s*<source dir='[^']*\/share'\/>\s*<target dir='roost0'\/>/,
    );
    expect(xml).toMatch(/<target dir='roost1'\/>\s*<readonly\/>/);
  }, 660_000);

  it('shows tag, host dir, guest dir, mode and type in info and mount ls', async () => {
    const info = await roostJson<VmDetails>(user, ['info', name]);
    expect(info.mounts.map((m) => [m.tag, m.hostDir, m.guestDir, m.mode, m.type])).toEqual([
      ['roost0', share, '/share', 'rw', '9p'],
      ['roost1', readonly, '/ro', 'ro', '9p'],
    ]);
    const ls = await roostJson<MountList>(user, ['mount', 'ls', name]);
    expect(ls.running).toBe(true);
    expect(ls.mounts.map((m) => m.state)).toEqual(['active', 'active']);
    const text = await roost(user, ['info', name]);
    expect(text.stdout).toMatch(/mounts: +\S+\/share → \/share \(rw, 9p, tag roost0\)/);
  });

  it('the guest reads what the host wrote, before and after it booted', async () => {
    expect((await httpGet(port, '/mnt/roost0/hello.txt')).body).toBe('hello from the host\n');
    expect((await httpGet(port, '/mnt/roost1/notes.txt')).body).toBe('read-only notes\n');
    writeOwn(join(share, 'fresh.txt'), 'written while it runs\n');
    expect((await httpGet(port, '/mnt/roost0/fresh.txt')).body).toBe('written while it runs\n');
  });

  it('what the guest writes to the read-write share is on the host, owned by the user', async () => {
    const r = await post(port, '/cgi-bin/put?roost0/from-guest.txt', 'written by the guest\n');
    expect(r.body).toMatch(/written/);
    expect(r.status).toBe(200);
    const file = join(share, 'from-guest.txt');
    expect(readFileSync(file, 'utf8')).toBe('written by the guest\n');
    // The guest wrote as its root; squash leaves the file the user's (QEMU could not chown it, and need not).
    expect(statSync(file).uid).toBe(user.uid);
    // And the guest sees the user's files as the user's uid.
    expect((await httpGet(port, '/cgi-bin/stat?roost0/hello.txt')).body.trim()).toMatch(
      new RegExp(`^${user.uid} ${user.gid} 644$`),
    );
  });

  it('a write to the read-only share fails in the guest and nothing reaches the host', async () => {
    const r = await post(port, '/cgi-bin/put?roost1/from-guest.txt', 'must not land\n');
    expect(r.status).toBe(500);
    expect(r.body).toMatch(/Read-only file system/);
    expect(existsSync(join(readonly, 'from-guest.txt'))).toBe(false);
  });

  it('a symlink in the share does not lead the guest out of it', async () => {
    // The guest resolves links in its own file system: ../secret.txt is /mnt/secret.txt there, and the host path
    // does not exist in the guest. Neither gives the host file.
    for (const link of ['up', 'abs']) {
      const r = await httpGet(port, `/mnt/roost0/${link}`);
      expect(r.body, link).not.toContain('outside every share');
      expect(r.status, link).toBe(404);
    }
  });

  it('mount add on the running VM changes the definition, applies at the next start, and then the guest has it', async () => {
    const added = await roostJson<{ applied: string; reason: string; mount: { tag: string } }>(user, [
      'mount',
      'add',
      name,
      `${extra}:/extra:ro`,
    ]);
    expect(added.applied).toBe('next-start');
    expect(added.reason).toMatch(/cannot hot-plug a 9p/);
    expect(added.mount.tag).toBe('roost2');
    const before = await roostJson<MountList>(user, ['mount', 'ls', name]);
    expect(before.mounts.map((m) => `${m.tag}:${m.state}`)).toEqual([
      'roost0:active',
      'roost1:active',
      'roost2:next-start',
    ]);
    // Stopped and started again, waiting for the guest's page as create does: a TCG boot's length varies with
    // the host's load.
    const stopped = await roost(user, ['stop', '--force', name]);
    expect(stopped.code, stopped.stderr).toBe(0);
    const started = await roost(user, ['start', name, '--wait', 'port:80'], { timeoutMs: 600_000 });
    expect(started.code, started.stderr).toBe(0);
    expect((await httpGet(port, '/mnt/roost2/later.txt')).body).toBe('added later\n');
    const after = await roostJson<MountList>(user, ['mount', 'ls', name]);
    expect(after.mounts.map((m) => `${m.tag}:${m.state}`)).toEqual([
      'roost0:active',
      'roost1:active',
      'roost2:active',
    ]);
  }, 660_000);

  it('mount rm takes it out of the definition (by guest dir); unknown ones are a usage error', async () => {
    const removed = await roostJson<{ applied: string; mount: { tag: string } }>(user, [
      'mount',
      'rm',
      name,
      '/extra',
    ]);
    expect(removed.mount.tag).toBe('roost2');
    expect(removed.applied).toBe('next-start');
    const after = await roostJson<MountList>(user, ['mount', 'ls', name]);
    expect(after.mounts.map((m) => `${m.tag}:${m.state}`)).toEqual([
      'roost0:active',
      'roost1:active',
      'roost2:removed-at-next-start',
    ]);
    const xml = (await virsh(uri, ['dumpxml', '--inactive', name])).stdout;
    expect(xml).not.toContain("<target dir='roost2'/>");
    const missing = await roost(user, ['mount', 'rm', name, '/nowhere']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/has no shared folder '\/nowhere'/);
  });
});
