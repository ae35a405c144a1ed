// roost ssh, roost cp and `create --wait ssh` on a VM of another host, end to end: the Debian guest (sshd,
// cloud-init) created on the "remote host" of test/harness/remote-host.ts (a second user behind a private sshd),
// its image uploaded there. The wait logs in through an ssh forward to that host, ssh and cp jump through it
// (ssh -W as ProxyCommand); sshd's log shows both went through it. One boot for all. Root only; skips otherwise.
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createScope,
  debianCreateArgs,
  debianGuest,
  debianImportArgs,
  freePort,
  harness,
  processesOf,
  roost,
  virsh,
} from '../harness/index.js';
import { startRemoteHost, type RemoteHost } from '../harness/remote-host.js';

const IS_ROOT = process.getuid?.() === 0;
if (!IS_ROOT)
  console.warn('hosts-debian.test.ts: skipped — it must run as root to start sshd and add a user');

const { user, uri } = harness();
const scope = createScope('hostsdeb', user, uri);
const guest = debianGuest(user);
const image = scope.name('img');
const name = scope.name('vm');
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe.skipIf(!IS_ROOT)('a cloud-image VM on a remote host: wait, ssh and cp through that host', () => {
  let host: RemoteHost;
  let sshPort = 0;
  const R = (args: string[], timeoutMs?: number) => roost(user, ['-c', host.uri, ...args], { timeoutMs });
  /** sshd's log lines for forwarded connections to the guest's ssh forward on the remote host. */
  const jumpsToGuest = () =>
    host
      .sshdLog()
      .split('\n')
      .filter((l) => new RegExp(`direct_tcpip: .*target 127\\.0\\.0\\.1 port ${sshPort}\\b`).test(l)).length;

  beforeAll(async () => {
    host = await startRemoteHost(user, scope);
    const imp = await roost(user, debianImportArgs(guest, image));
    expect(imp.code, imp.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    if (host) {
      await R(['rm', '--force', name], 120_000).catch(() => undefined);
      await host.stop(scope);
    }
    await roost(user, ['image', 'rm', image]);
    await scope.cleanup();
  }, 300_000);

  it('create --wait ssh returns once a login works, reached through the remote host', async () => {
    sshPort = await freePort();
    const made = await R(
      [
        'create',
        name,
        '--image',
        image,
        ...debianCreateArgs(guest),
        '--port',
        `127.0.0.1:${sshPort}:22`,
        '--wait',
        'ssh',
        '--wait-timeout',
        '900',
        '--json',
      ],
      1_100_000,
    );
    expect(made.code, made.stderr).toBe(0);
    const out = JSON.parse(made.stdout) as { waitedMs: number | null; sshUser: string | null };
    expect(out.waitedMs).not.toBeNull();
    expect(out.sshUser).toBe(guest.user ?? 'debian');
    // Its disk is the remote host's; the login went through that host's sshd to the guest's forward.
    expect((await virsh(host.daemonUri, ['list', '--name'])).stdout).toContain(name);
    expect(jumpsToGuest()).toBeGreaterThan(0);
    // The wait's ssh forward ended with it.
    expect(processesOf(user.uid, /^ssh$/).filter((p) => p.argv.includes('-L'))).toEqual([]);
  }, 1_200_000);

  it('roost ssh runs a command in it through the remote host', async () => {
    const before = jumpsToGuest();
    const r = await R(['ssh', name, '--', 'cat', '/etc/hostname', ';', 'id', '-un'], 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(guest.user ?? 'debian');
    expect(jumpsToGuest()).toBeGreaterThan(before);
  }, 180_000);

  it('roost cp copies a file there and back, byte for byte, through the remote host', async () => {
    const up = join(scope.dir, 'up.bin');
    writeFileSync(up, randomBytes(2 * 1024 * 1024));
    chownSync(up, user.uid, user.gid);
    const before = jumpsToGuest();
    const sent = await R(['cp', up, `${name}:/tmp/up.bin`], 240_000);
    expect(sent.code, sent.stderr).toBe(0);
    const back = join(scope.dir, 'back.bin');
    const got = await R(['cp', `${name}:/tmp/up.bin`, back], 240_000);
    expect(got.code, got.stderr).toBe(0);
    expect(sha256(back)).toBe(sha256(up));
    expect(jumpsToGuest()).toBeGreaterThanOrEqual(before + 2);
  }, 600_000);
});
