import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildUserData } from '../cloud-init/user-data.js';
import { RoostError, UsageError } from '../errors.js';
import { sharedFolderSupport } from '../host/checks/shared-folders.js';
import { BUILTIN_IMAGES, findEntry } from '../images/catalog.js';
import {
  seedMounts,
  assignTags,
  checkMounts,
  chooseMountType,
  guestMountCommand,
  guestMountPointProblem,
  mountWarnings,
  no9pWarning,
  parseMountArg,
  planMounts,
  reachableByOthers,
} from './mounts.js';

const root = mkdtempSync(join(tmpdir(), 'roost-mounts-'));
const home = join(root, 'home');
const src = join(home, 'src');
mkdirSync(src, { recursive: true });
writeFileSync(join(home, 'file.txt'), 'x');
symlinkSync(src, join(home, 'link'));
symlinkSync('/', join(home, 'to-root'));
symlinkSync(home, join(root, 'to-home'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const opts = { home, cwd: home };
function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as UsageError).code;
  }
  return undefined;
}

describe('--mount HOSTDIR[:GUESTDIR][:ro]', () => {
  it('parses the three forms', () => {
    expect(parseMountArg('/a')).toEqual({ text: '/a', hostDir: '/a', guestDir: undefined, readonly: false });
    expect(parseMountArg('/a:/b')).toMatchObject({ hostDir: '/a', guestDir: '/b', readonly: false });
    expect(parseMountArg('/a:/b:ro')).toMatchObject({ hostDir: '/a', guestDir: '/b', readonly: true });
    expect(parseMountArg('/a:ro')).toMatchObject({ hostDir: '/a', guestDir: undefined, readonly: true });
    expect(parseMountArg('/a:/b:rw')).toMatchObject({ readonly: false });
    for (const bad of ['', '/a:/b:/c', '/a::/b', ':/b', '/a\n:/b'])
      expect(
        code(() => parseMountArg(bad)),
        bad,
      ).toBe('INVALID_MOUNT');
  });

  it('defaults the guest dir to the host dir as given, and resolves relative host dirs', () => {
    const [m] = checkMounts(['src'], opts);
    expect(m).toEqual({ hostDir: src, guestDir: src, readonly: false });
  });

  it('follows a symlink, shares the real directory and keeps what was given', () => {
    const [m] = checkMounts([`${home}/link:/src:ro`], opts);
    expect(m).toEqual({ hostDir: src, hostDirGiven: join(home, 'link'), guestDir: '/src', readonly: true });
    expect(mountWarnings([m!]).join('\n')).toMatch(/is a symlink: the guest gets/);
  });

  it('refuses a missing path, a file, the root (also through a symlink) and the home without --mount-home', () => {
    expect(code(() => checkMounts([join(home, 'nope')], opts))).toBe('MOUNT_SOURCE_MISSING');
    expect(code(() => checkMounts([join(home, 'file.txt')], opts))).toBe('MOUNT_SOURCE_NOT_DIR');
    expect(code(() => checkMounts(['/:/host'], opts))).toBe('MOUNT_ROOT');
    expect(code(() => checkMounts([`${home}/to-root:/host`], opts))).toBe('MOUNT_ROOT');
    expect(code(() => checkMounts([home], opts))).toBe('MOUNT_HOME');
    expect(code(() => checkMounts([`${root}/to-home:/h`], opts))).toBe('MOUNT_HOME');
    // A directory that holds the home is the home and more.
    expect(code(() => checkMounts([`${root}:/r`], opts))).toBe('MOUNT_HOME');
    expect(checkMounts([`${home}:/h:ro`], { ...opts, mountHome: true })[0]).toMatchObject({
      hostDir: home,
      readonly: true,
    });
  });

  it('refuses guest dirs that are relative, hide the guest system or are used twice', () => {
    expect(code(() => checkMounts([`${src}:rel`], opts))).toBe('INVALID_GUEST_DIR');
    for (const dir of ['/', '/etc', '/usr', '/home', '/proc/x', '/etc/ssh', '/a b', '/a/../etc']) {
      expect(
        code(() => checkMounts([`${src}:${dir}`], opts)),
        dir,
      ).toBe('INVALID_GUEST_DIR');
    }
    expect(code(() => checkMounts([`${src}:/x`, `${home}/link:/x`], opts))).toBe('DUPLICATE_GUEST_DIR');
    expect(code(() => checkMounts([`${src}:/x`], opts, ['/x']))).toBe('DUPLICATE_GUEST_DIR');
    expect(guestMountPointProblem('/home/ada/src')).toBeUndefined();
    expect(guestMountPointProblem('/srv/data')).toBeUndefined();
  });

  it('warns about a writable share other users can reach (setuid files from the guest), not a private one', () => {
    const shared = join(root, 'open');
    mkdirSync(shared, { mode: 0o755 });
    chmodSync(root, 0o755);
    expect(reachableByOthers(shared)).toBe(true);
    const m = { hostDir: shared, guestDir: '/o', readonly: false };
    expect(mountWarnings([m]).join('\n')).toMatch(/setuid/);
    expect(mountWarnings([{ ...m, readonly: true }])).toEqual([]);
    chmodSync(root, 0o700);
    expect(reachableByOthers(shared)).toBe(false);
  });
});

describe('the shared folder type', () => {
  const without = sharedFolderSupport(11_003_000, undefined);
  const withFsd = sharedFolderSupport(11_003_000, '/usr/libexec/virtiofsd');
  it('is virtiofs where virtiofsd and libvirt >= 10 are there, else 9p', () => {
    expect(without.best).toBe('9p');
    expect(withFsd.best).toBe('virtiofs');
    expect(sharedFolderSupport(9_000_000, '/usr/libexec/virtiofsd')).toMatchObject({
      best: '9p',
      virtiofsProblem: expect.stringMatching(/needs 10.0/) as string,
    });
    expect(chooseMountType('auto', without).chosen).toBe('9p');
    expect(chooseMountType('auto', withFsd).chosen).toBe('virtiofs');
    expect(chooseMountType('9p', withFsd).chosen).toBe('9p');
  });

  it('refuses a forced virtiofs the host cannot run, saying why and where virtiofsd comes from', () => {
    let err: unknown;
    try {
      chooseMountType('virtiofs', without);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RoostError);
    expect((err as RoostError).code).toBe('VIRTIOFS_UNAVAILABLE');
    expect((err as RoostError).message).toMatch(/no virtiofsd/);
    expect((err as RoostError).hint).toMatch(/cargo install virtiofsd/);
  });

  it('gives tags roost0, roost1… skipping those in use', () => {
    expect(assignTags(3, ['roost1'])).toEqual(['roost0', 'roost2', 'roost3']);
  });
});

describe('shared folders in the guest', () => {
  const plan = planMounts(
    [
      { hostDir: '/h/src', guestDir: '/src', readonly: false },
      { hostDir: '/h/data', guestDir: '/data', readonly: true },
    ],
    chooseMountType('auto', sharedFolderSupport(11_003_000, undefined)),
  );

  it('gives the one mount line for guests without cloud-init', () => {
    expect(guestMountCommand(plan.guest[1]!)).toBe(
      'mkdir -p /data && mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro roost1 /data',
    );
  });

  it('puts fstab lines (nofail) and a first-boot mount in the seed, with the host uid for the login user', () => {
    const seed = seedMounts(plan, 1000);
    expect(seed.uid).toBe(1000);
    expect(seedMounts(plan, 983).uid).toBeUndefined();
    const doc = parse(
      buildUserData({ user: 'debian', sshPublicKeys: ['ssh-ed25519 AAAA test'], hostname: 'dev', ...seed }),
    ) as Record<string, unknown>;
    expect(doc.users).toEqual([expect.objectContaining({ name: 'debian', uid: 1000 })]);
    expect(doc.write_files).toEqual([
      {
        path: '/etc/fstab',
        append: true,
        content: expect.stringContaining(
          'roost0 /src 9p trans=virtio,version=9p2000.L,msize=512000,nofail 0 0\nroost1 /data 9p trans=virtio,version=9p2000.L,msize=512000,ro,nofail 0 0\n',
        ) as string,
      },
    ]);
    // A mount that fails (no 9p in the guest kernel) says so and leaves cloud-init's status alone.
    const mountOrSay = expect.stringMatching(/^mount "\$1" \|\| echo .*>&2$/) as string;
    expect(doc.runcmd).toEqual([
      ['mkdir', '-p', '/src'],
      ['sh', '-c', mountOrSay, 'roost-mount', '/src', '9p'],
      ['mkdir', '-p', '/data'],
      ['sh', '-c', mountOrSay, 'roost-mount', '/data', '9p'],
    ]);
  });
});

describe("create's warning for an image whose kernel has no 9p", () => {
  const warn = (name: string) => no9pWarning(findEntry(BUILTIN_IMAGES, name)!);

  it("names Debian's genericcloud images, and the Red Hat family, with what to use instead", () => {
    for (const name of ['debian-12', 'debian-13', 'centos-stream-10', 'almalinux-9', 'rocky-9', 'rhel-9']) {
      expect(warn(name)).toEqual([
        expect.stringMatching(/no 9p: the guest cannot mount .*virtiofsd.*ubuntu-24\.04/),
      ]);
    }
    expect(warn('debian-12')[0]).toMatch(
      /^debian-12 is Debian's genericcloud image, whose kernel \(linux-image-cloud-amd64\)/,
    );
  });

  it('is silent for images whose kernel has 9p, and for a Debian generic image', () => {
    expect(warn('ubuntu-24.04')).toEqual([]);
    expect(warn('fedora-44')).toEqual([]);
    const generic = { name: 'debian-12-generic', url: 'https://example.org/debian-12-generic-amd64.qcow2' };
    expect(no9pWarning(generic)).toEqual([]);
  });
});
