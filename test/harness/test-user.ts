// The unprivileged user that every libvirt-touching test runs as.
//
// libvirt's session daemon, QEMU and passt must run without root for the tests to mean anything. When the
// suite runs as root (CI does), we create a dedicated system user once and give it its own runtime dir; when it
// runs as a normal user, that user is the test user.
import { execFileSync } from 'node:child_process';
import { chownSync, chmodSync, mkdirSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** XDG_RUNTIME_DIR: 0700, owned by the user; libvirt puts its session sockets under `libvirt/`. */
  runtimeDir: string;
}

/** Name of the dedicated user created when the tests run as root. Override with ROOST_TEST_USER. */
export const DEFAULT_TEST_USER = 'roost-test';

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Resolves the test user, creating it (as root) when it does not exist yet. Idempotent. */
export function ensureTestUser(): TestUser {
  if (!isRoot()) return currentUser();
  const name = process.env.ROOST_TEST_USER ?? DEFAULT_TEST_USER;
  if (!lookup(name)) {
    execFileSync(
      'useradd',
      ['--system', '--create-home', '--home-dir', `/var/lib/${name}`, '--shell', '/bin/sh', name],
      {
        stdio: 'inherit',
      },
    );
  }
  const user = lookup(name);
  if (!user) throw new Error(`could not create the test user ${name}`);
  ensurePrivateDir(user.runtimeDir, user.uid, user.gid);
  return user;
}

/** The test user as set up earlier (no creation), for use inside test files. */
export function testUser(): TestUser {
  if (!isRoot()) return currentUser();
  const name = process.env.ROOST_TEST_USER ?? DEFAULT_TEST_USER;
  const user = lookup(name);
  if (!user)
    throw new Error(
      `test user ${name} is missing: run the integration tests through vitest (global setup creates it)`,
    );
  return user;
}

function currentUser(): TestUser {
  const info = userInfo();
  const runtimeDir = process.env.XDG_RUNTIME_DIR ?? `${info.homedir}/.cache`;
  return { name: info.username, uid: info.uid, gid: info.gid, home: info.homedir, runtimeDir };
}

function lookup(name: string): TestUser | undefined {
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
  const [, , uid, gid, , home] = line.split(':');
  const u = Number(uid);
  // /run/user/UID is where a login manager would put it; we make it ourselves since no systemd runs here.
  return { name, uid: u, gid: Number(gid), home: home ?? `/var/lib/${name}`, runtimeDir: `/run/user/${u}` };
}

function ensurePrivateDir(dir: string, uid: number, gid: number): void {
  // The parent (/run/user) must stay traversable by everyone, as a login manager would leave it.
  mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (st.uid !== uid || st.gid !== gid) chownSync(dir, uid, gid);
  if ((st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
}
