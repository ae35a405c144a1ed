// The test user's libvirt session daemon, started and stopped by the harness.
//
// A real user's client autostarts the daemon (docs/protocol.md, Socket paths and autostart) and it exits 120 s
// after its last client. For tests we start it ourselves, without that idle timeout, so that files run one
// after another against the same daemon and the teardown can stop it and everything it spawned.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, closeSync, chownSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { isAlive, uidOf, waitUntil } from './processes.js';
import { spawnOptionsFor } from './run.js';
import type { TestUser } from './test-user.js';

export interface SessionDaemon {
  pid: number;
  /** The monolithic daemon's session socket: `$XDG_RUNTIME_DIR/libvirt/libvirt-sock`. */
  socketPath: string;
  /** A URI that reaches this daemon from any process, including root: `qemu:///session?socket=…`. */
  uri: string;
  logFile: string;
  /** True when this call started the daemon (false: one was already answering, e.g. another test run's). */
  startedHere: boolean;
}

export function sessionSocketPath(user: TestUser): string {
  return join(user.runtimeDir, 'libvirt', 'libvirt-sock');
}

export function sessionUri(user: TestUser): string {
  return `qemu:///session?socket=${sessionSocketPath(user)}`;
}

function daemonPidFile(user: TestUser): string {
  return join(
    user.runtimeDir,
    'libvirt',
    daemonBinary().endsWith('virtqemud') ? 'virtqemud.pid' : 'libvirtd.pid',
  );
}

/**
 * The PID of the user's session daemon now. Not always global setup's: the fault suite kills daemons on purpose
 * (a new one starts on demand), so a test that asks about "the daemon" asks this.
 */
export function liveDaemonPid(user: TestUser): number | undefined {
  const file = daemonPidFile(user);
  const pid = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : 0;
  return pid > 0 && isAlive(pid) ? pid : undefined;
}

/** Finds the session daemon binary the way libvirt's client does: the modular one first. */
export function daemonBinary(): string {
  for (const p of ['/usr/sbin/virtqemud', '/usr/sbin/libvirtd']) if (existsSync(p)) return p;
  throw new Error('no libvirt daemon installed (virtqemud or libvirtd): run scripts/setup-host.sh');
}

/** Starts the user's session daemon, or reuses one that already answers on the socket. */
export async function startSessionDaemon(user: TestUser): Promise<SessionDaemon> {
  const socketPath = sessionSocketPath(user);
  const pidFile = daemonPidFile(user);
  const logDir = join(user.home, '.cache', 'roost-test');
  // Every directory made here is the user's: a root-owned ~/.cache (a fresh user has none) stops their daemon.
  const created = mkdirSync(logDir, { recursive: true, mode: 0o700 });
  if (process.getuid?.() === 0) {
    for (const d of created === undefined ? [logDir] : [created, ...(created === logDir ? [] : [logDir])])
      chownSync(d, user.uid, user.gid);
  }
  const logFile = join(logDir, 'session-daemon.log');
  let startedHere = false;
  // A daemon a client autostarted (`--timeout=120`) exits once idle, which could be between two test files:
  // replace it with one of ours. Its VMs keep running; the new daemon picks them up.
  const existing = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
  if (existing > 0 && isAlive(existing) && cmdlineOf(existing).some((a) => a.startsWith('--timeout'))) {
    await stopSessionDaemon({ pid: existing });
  }
  if (!(await answers(socketPath))) {
    startedHere = true;
    const log = openSync(logFile, 'a', 0o600);
    if (process.getuid?.() === 0) chownSync(logFile, user.uid, user.gid);
    const child = spawn(daemonBinary(), [], {
      ...spawnOptionsFor(user),
      detached: true,
      stdio: ['ignore', log, log],
    });
    child.unref();
    closeSync(log);
    const up = await waitUntil(() => answers(socketPath), 15_000, 50);
    if (!up) throw new Error(`session daemon did not come up on ${socketPath}; see ${logFile}`);
  }
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (uidOf(pid) !== user.uid)
    throw new Error(`session daemon ${pid} runs as uid ${uidOf(pid)}, expected ${user.uid}`);
  return { pid, socketPath, uri: sessionUri(user), logFile, startedHere };
}

/** Stops the daemon (SIGTERM, then SIGKILL after 10 s). Its VMs must have been cleaned up before. */
export async function stopSessionDaemon(daemon: Pick<SessionDaemon, 'pid'>): Promise<void> {
  if (!isAlive(daemon.pid)) return;
  process.kill(daemon.pid, 'SIGTERM');
  if (!(await waitUntil(() => !isAlive(daemon.pid), 10_000))) process.kill(daemon.pid, 'SIGKILL');
}

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (!existsSync(socketPath)) return resolve(false);
    const s = connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function cmdlineOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}
