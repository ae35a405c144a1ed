// A shared folder in a real cloud-init guest: the locally built Debian guest (Debian's generic kernel, which has
// 9p), created with --mount. The seed's fstab line and first-boot mount must give the folder once cloud-init is
// done and again after the guest reboots; files go both ways and stay the user's on the host. One VM for every
// assertion: under TCG a boot takes minutes.
import { chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedVm } from '../../src/shared/vms.js';
import {
  createScope,
  debianCreateArgs,
  debianGuest,
  debianImportArgs,
  freePort,
  harness,
  roost,
  roostJson,
  waitUntil,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('mntdeb', user, uri);
const guest = debianGuest(user);
const image = scope.name('img');
const name = scope.name('vm');
const share = join(scope.dir, 'share');
const GUEST_DIR = '/srv/shared';
let created: CreatedVm;

/** A command in the guest over ssh, as the login user; its output, failing the test when it fails. */
async function inGuest(...argv: string[]): Promise<string> {
  const r = await roost(user, ['ssh', name, '--', ...argv], { timeoutMs: 120_000 });
  expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

/** What is mounted at the guest directory: 'FSTYPE SOURCE'. */
const mountedAt = async (dir: string) =>
  (await inGuest('findmnt', '-n', '-o', 'FSTYPE,SOURCE', dir)).replace(/\s+/g, ' ');

beforeAll(async () => {
  mkdirSync(share, { mode: 0o755 });
  writeFileSync(join(share, 'from-host.txt'), 'written on the host\n');
  chownSync(share, user.uid, user.gid);
  chownSync(join(share, 'from-host.txt'), user.uid, user.gid);
  const imp = await roost(user, debianImportArgs(guest, image));
  expect(imp.code, imp.stderr).toBe(0);
  created = await roostJson<CreatedVm>(
    user,
    [
      'create',
      name,
      '--image',
      image,
      ...debianCreateArgs(guest),
      '--port',
      `127.0.0.1:${await freePort()}:22`,
      '--mount',
      `${share}:${GUEST_DIR}`,
      '--wait',
      'ssh',
      '--wait-timeout',
      '900',
    ],
    { timeoutMs: 960_000 },
  );
}, 1_000_000);

afterAll(async () => {
  await roost(user, ['rm', '--force', name]);
  await roost(user, ['image', 'rm', image]);
  await scope.cleanup();
});

describe('a --mount folder in the Debian cloud guest', () => {
  it('is mounted (9p) once create has waited for cloud-init, with the host file in it', async () => {
    expect(created.mounts).toEqual([
      expect.objectContaining({ tag: 'roost0', type: '9p', guestDir: GUEST_DIR, mode: 'rw', bySeed: true }),
    ]);
    expect(created.warnings.join('\n')).not.toMatch(/no 9p/);
    expect(await mountedAt(GUEST_DIR)).toBe('9p roost0');
    expect(await inGuest('cat', `${GUEST_DIR}/from-host.txt`)).toBe('written on the host');
    // The guest sees the host's owner: the user (squash keeps the host's uid on every file).
    expect(await inGuest('stat', '-c', '%u', `${GUEST_DIR}/from-host.txt`)).toBe(String(user.uid));
    expect(await inGuest('cloud-init', 'status', '--wait')).toMatch(/status: done/);
  });

  it('takes what the guest writes as a file of the user on the host, with the mode the guest gave', async () => {
    // The login user gets the host user's uid when it is an ordinary one (1000–59999); the test user is a system
    // user, so the guest writes as that uid explicitly — what a login user of the same uid does.
    await inGuest(
      'sudo',
      'setpriv',
      `--reuid=${user.uid}`,
      `--regid=${user.gid}`,
      '--clear-groups',
      'sh',
      '-c',
      `'printf "written in the guest\\n" > ${GUEST_DIR}/from-guest.txt && chmod 640 ${GUEST_DIR}/from-guest.txt'`,
    );
    const path = join(share, 'from-guest.txt');
    expect(readFileSync(path, 'utf8')).toBe('written in the guest\n');
    const st = statSync(path);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([user.uid, user.gid, 0o640]);
    // Even root in the guest leaves files the user owns, never root's (squash).
    await inGuest('sudo', 'sh', '-c', `'echo root > ${GUEST_DIR}/by-root.txt'`);
    expect(statSync(join(share, 'by-root.txt')).uid).toBe(user.uid);
  });

  it('is mounted again after the guest reboots (the seed put it in /etc/fstab)', async () => {
    // ssh joins its arguments into one shell line: the pattern is quoted for the guest's shell.
    expect(await inGuest('grep', '-c', `'^roost0 ${GUEST_DIR} 9p '`, '/etc/fstab')).toBe('1');
    const bootId = await inGuest('cat', '/proc/sys/kernel/random/boot_id');
    await roost(user, ['ssh', name, '--', 'sudo', 'systemctl', 'reboot'], { timeoutMs: 60_000 });
    writeFileSync(join(share, 'while-rebooting.txt'), 'seen after the reboot\n');
    chownSync(join(share, 'while-rebooting.txt'), user.uid, user.gid);
    const back = await waitUntil(
      async () => {
        const r = await roost(user, ['ssh', name, '--', 'cat', '/proc/sys/kernel/random/boot_id'], {
          timeoutMs: 60_000,
        });
        return r.code === 0 && r.stdout.trim() !== bootId;
      },
      900_000,
      5_000,
    );
    // When it does not, the guest's console says why (a stuck shutdown, an emergency shell, a boot that stopped).
    const consoleTail = back
      ? ''
      : (await roost(user, ['logs', name])).stdout.split('\n').slice(-60).join('\n');
    expect(back, `the guest came back from its reboot; its console ended with:\n${consoleTail}`).toBe(true);
    expect(await mountedAt(GUEST_DIR)).toBe('9p roost0');
    expect(await inGuest('cat', `${GUEST_DIR}/while-rebooting.txt`)).toBe('seen after the reboot');
    // After a fresh mount the guest sees the owner the file has on the host (9p squash): the host user's uid, which
    // the guest's login user has only when that uid is an ordinary one (docs/files.md, "In the guest"); the test
    // user's may not be.
    expect(await inGuest('stat', '-c', '%u', `${GUEST_DIR}/from-guest.txt`)).toBe(String(user.uid));
  }, 1_000_000);
});
