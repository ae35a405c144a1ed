// Connecting to a local daemon socket, starting the session daemon when nobody listens — libvirt's autostart
// (virNetSocketNewConnectUNIX with spawnDaemon). docs/protocol.md, Socket paths and autostart, is the contract.

import { join } from 'node:path';
import type { Transport } from '../rpc/transport.js';
import { DaemonUnavailableError, SocketConnectError } from '../errors.js';
import { currentUid, libvirtRuntimeDir } from './socket-path.js';
import { acquireSpawnLock } from './spawn-lock.js';
import { errnoOf, isAbsent, sleep, tryConnect } from './unix-socket.js';

export const SETUP_HINT = 'install libvirt (scripts/setup-host.sh)';

export interface AutostartOptions {
  /** Start a daemon when nobody listens (default true; LIBVIRT_AUTOSTART=0 in `env` turns it off). */
  autostart?: boolean;
  /**
   * Executable to start, or how to find it — asked only when nobody listens, so a connection to a running daemon
   * costs no $PATH search; undefined means none is installed (reported when one is needed).
   */
  daemon?: string | (() => string | undefined);
  /** Name of the daemon that serves this socket, for error messages when `daemon` is missing. */
  daemonName?: string;
  /** What to tell the user when nobody listens and autostart is off (default: how to start a daemon). */
  hint?: string;
  /** Default ['--timeout=120']: the daemon exits two minutes after its last client. */
  daemonArgs?: string[];
  env?: NodeJS.ProcessEnv;
  uid?: number;
  /** Directory of the `<daemon>.lock` file; default $RT/libvirt. */
  lockDir?: string;
  /** connect() attempts once a daemon is being started (default 500) and the pause between them (10 ms). */
  attempts?: number;
  intervalMs?: number;
  /** Longest wait for another process's autostart lock (default 30 s). */
  lockTimeoutMs?: number;
}

/**
 * Connects to a local daemon socket, starting the session daemon if nobody listens (docs/protocol.md, Socket
 * paths and autostart).
 *
 * Fast path: one connect() without any lock — a running daemon costs nothing extra. Only when that fails with
 * ENOENT/ECONNREFUSED do we take `$RT/libvirt/<daemon>.lock`, then retry connect() up to 500×10 ms, starting
 * the daemon once on the first failure. Holding the lock across "is it there? / start it / wait for it"
 * makes concurrent roost processes queue: the first one starts the daemon, the others find it listening.
 */
export async function connectWithAutostart(path: string, opts: AutostartOptions = {}): Promise<Transport> {
  const env = opts.env ?? process.env;
  const autostart = opts.autostart !== false && env.LIBVIRT_AUTOSTART !== '0';
  // sun_path holds 108 bytes with the NUL; libuv would silently cut a longer path and dial another one.
  if (Buffer.byteLength(path) > 107) throw new SocketConnectError(path, 'ENAMETOOLONG');

  const first = await tryConnect(path);
  if (first.socket) return first.socket;
  if (!isAbsent(first.error))
    throw new SocketConnectError(path, errnoOf(first.error), { cause: first.error });
  if (!autostart) {
    const hint =
      opts.hint ??
      (env.LIBVIRT_AUTOSTART === '0'
        ? 'autostart is off (LIBVIRT_AUTOSTART=0): unset it, or start the daemon yourself as this user'
        : 'autostart is off: start the daemon yourself as this user') + " (e.g. 'libvirtd --timeout=120')";
    throw new DaemonUnavailableError(
      `no libvirt daemon is listening at ${path} (${errnoOf(first.error)}); ${hint}`,
      'autostart-disabled',
      path,
      { cause: first.error },
    );
  }
  const daemon = typeof opts.daemon === 'function' ? opts.daemon() : opts.daemon;
  if (!daemon) {
    throw new DaemonUnavailableError(
      `no libvirt session daemon at ${path} and none could be started: ` +
        `${opts.daemonName ?? 'neither virtqemud nor libvirtd'} is not installed; ${SETUP_HINT}`,
      'not-installed',
      path,
      { cause: first.error },
    );
  }

  const lockDir = opts.lockDir ?? libvirtRuntimeDir(env, opts.uid ?? currentUid());
  // node:fs/promises (with the readline module it loads) only here: a daemon that answers never needs it, and
  // every command dials one.
  const { mkdir } = await import('node:fs/promises');
  await mkdir(lockDir, { recursive: true, mode: 0o700 });
  const lock = await acquireSpawnLock(
    join(lockDir, `${baseName(daemon)}.lock`),
    path,
    opts.lockTimeoutMs ?? 30_000,
  );
  try {
    return await connectStartingDaemon(path, daemon, opts, env);
  } finally {
    await lock.release();
  }
}

async function connectStartingDaemon(
  path: string,
  daemon: string,
  opts: AutostartOptions,
  env: NodeJS.ProcessEnv,
): Promise<Transport> {
  const attempts = opts.attempts ?? 500;
  const intervalMs = opts.intervalMs ?? 10;
  let started: StartedDaemon | undefined;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const { socket, error } = await tryConnect(path);
    if (socket) return socket;
    lastError = error;
    if (!isAbsent(error)) throw new SocketConnectError(path, errnoOf(error), { cause: error });
    if (!started) started = await startDaemon(daemon, opts.daemonArgs ?? ['--timeout=120'], env, path);
    await sleep(intervalMs);
  }
  const exit = started?.exit();
  const exitText = exit ? `; it exited with ${exit}` : '';
  throw new DaemonUnavailableError(
    `no libvirt session daemon at ${path} and none could be started: started ${daemon} but it did not ` +
      `listen within ${Math.round((attempts * intervalMs) / 1000)} s${exitText}; see its log under ` +
      `~/.cache/libvirt/ or run '${daemon} --verbose' as this user; if libvirt is missing, ${SETUP_HINT}`,
    'timeout',
    path,
    { cause: lastError },
  );
}

interface StartedDaemon {
  /** How the daemon ended, if it already has ('code 1', 'signal SIGKILL'). */
  exit(): string | undefined;
}

// Started detached (own session, so a Ctrl-C of roost does not kill it), with stdio closed (it outlives us and
// logs to its own file), with only the environment libvirt passes (virCommandAddEnvPassCommon + XDG_*):
// XDG_RUNTIME_DIR and friends decide where the daemon puts its socket, which must be where we dial.
async function startDaemon(daemon: string, args: string[], env: NodeJS.ProcessEnv, path: string) {
  const { spawn } = await import('node:child_process');
  const child = spawn(daemon, args, { detached: true, stdio: 'ignore', env: daemonEnv(env) });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  } catch (err) {
    throw new DaemonUnavailableError(
      `no libvirt session daemon at ${path} and none could be started: cannot run ${daemon} ` +
        `(${errnoOf(err) ?? String(err)}); ${SETUP_HINT}`,
      'spawn-failed',
      path,
      { cause: err },
    );
  }
  let exit: string | undefined;
  child.once('exit', (code, signal) => (exit = signal ? `signal ${signal}` : `code ${code}`));
  child.unref();
  return { exit: () => exit } satisfies StartedDaemon;
}

function daemonEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'USER', 'LOGNAME', 'TMPDIR', 'LD_LIBRARY_PATH', 'LD_PRELOAD'];
  const out: NodeJS.ProcessEnv = { LC_ALL: 'C' };
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (keep.includes(name) || name.startsWith('XDG_'))) out[name] = value;
  }
  return out;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
