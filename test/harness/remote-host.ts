// A "remote host" on this machine, for roost's qemu+ssh:// tests: a private sshd on 127.0.0.1 (random port, its
// own host key, LogLevel DEBUG1 so that each forwarded connection's target shows in its log) admits a second
// unprivileged user by key — with its own home, runtime dir and session daemon. The local test user holds the
// client key and has the host key in its known_hosts, as a first `ssh` and "yes" would have left it. Root only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { startSessionDaemon, stopSessionDaemon } from './daemon.js';
import { freePort } from './net.js';
import { waitUntil } from './processes.js';
import { cleanupPrefix, type TestScope } from './scope.js';
import type { TestUser } from './test-user.js';

const SSHD = '/usr/sbin/sshd';

export interface RemoteHost {
  /** The second user: the remote host's. */
  user: TestUser;
  /** sshd's port on 127.0.0.1. */
  port: number;
  /** The client key (the local test user's). */
  key: string;
  /** qemu+ssh://USER@127.0.0.1:PORT/session?keyfile=KEY */
  uri: string;
  /** The remote user's session daemon, as virsh reaches it directly. */
  daemonUri: string;
  /** What sshd logged so far. */
  sshdLog(): string;
  /** Puts this host key (`host_key`, or `other_host_key` for a changed one) in the local user's known_hosts. */
  trustHostKey(which: 'host_key' | 'other_host_key'): void;
  /** Removes what the scope made over there, stops sshd and the daemon (if started here), restores known_hosts. */
  stop(scope: TestScope): Promise<void>;
}

function sh(cmd: string, args: string[]): string {
  const out = spawnSync(cmd, args, { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${out.stderr || out.error}`);
  return out.stdout.trim();
}

/** The second user: its own home and runtime dir, made once. */
export function ensureRemoteUser(name: string): TestUser {
  if (spawnSync('id', ['-u', name]).status !== 0) {
    sh('useradd', [
      '--system',
      '--create-home',
      '--home-dir',
      `/var/lib/${name}`,
      '--shell',
      '/bin/sh',
      name,
    ]);
  }
  sh('usermod', ['-p', '*', name]); // no password, not locked: key login only
  const uid = Number(sh('id', ['-u', name]));
  const gid = Number(sh('id', ['-g', name]));
  const runtimeDir = `/run/user/${uid}`;
  mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
  chownSync(runtimeDir, uid, gid);
  return { name, uid, gid, home: `/var/lib/${name}`, runtimeDir };
}

export const tcpOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

function sshdConfig(tmp: string, port: number, remote: TestUser): string {
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(tmp, 'host_key')}`,
    `PidFile ${join(tmp, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(tmp, 'authorized_keys')}`,
    `AllowUsers ${remote.name}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'PermitRootLogin no',
    // As a stock sshd_config has it: today's scp speaks SFTP (bench/hosts.ts compares uploads with scp).
    'Subsystem sftp internal-sftp',
    // What pam_systemd gives a login on a real host: the runtime dir its session daemon's socket is in.
    `SetEnv XDG_RUNTIME_DIR=${remote.runtimeDir}`,
    'LogLevel DEBUG1',
    '',
  ].join('\n');
}

/**
 * Starts the remote host for `local` (the remote user is `${local.name}-r`, or `-SUFFIX` for another one: several
 * hosts at once, e.g. bench/hosts.ts's three); the key goes in `scope.dir`. Several started together are stopped
 * in the reverse order (each restores the known_hosts it found).
 */
export async function startRemoteHost(
  local: TestUser,
  scope: TestScope,
  opts: { suffix?: string } = {},
): Promise<RemoteHost> {
  const remote = ensureRemoteUser(`${local.name}-${opts.suffix ?? 'r'}`.slice(0, 31));
  const tmp = mkdtempSync('/tmp/roost-hosts-sshd-');
  chmodSync(tmp, 0o755);
  for (const k of ['host_key', 'other_host_key']) {
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', k, '-f', join(tmp, k)]);
  }
  // The client key belongs to the local test user (ssh refuses a key others may read).
  const key = join(scope.dir, `id_ed25519_${remote.name}`);
  sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'client', '-f', key]);
  chownSync(key, local.uid, local.gid);
  writeFileSync(join(tmp, 'authorized_keys'), readFileSync(`${key}.pub`), { mode: 0o644 });
  const port = await freePort();
  writeFileSync(join(tmp, 'sshd_config'), sshdConfig(tmp, port, remote));
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  let log = '';
  const sshd: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(tmp, 'sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  sshd.stderr?.on('data', (d) => (log += d));
  if (!(await waitUntil(() => tcpOpen(port), 10_000))) throw new Error(`sshd did not start: ${log}`);
  const daemon = await startSessionDaemon(remote);

  const sshDir = join(local.home, '.ssh');
  mkdirSync(sshDir, { recursive: true, mode: 0o700 });
  chownSync(sshDir, local.uid, local.gid);
  const knownHosts = join(sshDir, 'known_hosts');
  const before = existsSync(knownHosts) ? readFileSync(knownHosts, 'utf8') : undefined;
  const trustHostKey = (which: 'host_key' | 'other_host_key') => {
    const pub = readFileSync(join(tmp, `${which}.pub`), 'utf8')
      .split(' ')
      .slice(0, 2)
      .join(' ');
    writeFileSync(knownHosts, `${before ?? ''}[127.0.0.1]:${port} ${pub}\n`, { mode: 0o600 });
    chownSync(knownHosts, local.uid, local.gid);
  };
  trustHostKey('host_key');

  return {
    user: remote,
    port,
    key,
    uri: `qemu+ssh://${remote.name}@127.0.0.1:${port}/session?keyfile=${encodeURIComponent(key)}`,
    daemonUri: daemon.uri,
    sshdLog: () => log,
    trustHostKey,
    async stop(s) {
      await cleanupPrefix(daemon.uri, s.prefix).catch(() => undefined);
      if (daemon.startedHere) await stopSessionDaemon(daemon);
      if (sshd.exitCode === null) {
        const gone = new Promise((r) => sshd.once('exit', r));
        sshd.kill('SIGTERM');
        await gone;
      }
      if (before === undefined) rmSync(knownHosts, { force: true });
      else writeFileSync(knownHosts, before);
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
