// Where the local libvirt daemon listens, and how a session daemon is started on demand — the client-side
// logic of libvirt's src/remote/remote_sockets.c and virNetSocketNewConnectUNIX, in roost's words.
// docs/protocol.md, Socket paths and autostart, is the contract.

import { accessSync, constants as fsConstants, existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { connectPipe } from './dialers/pipe-socket.js';
import type { Transport } from './rpc/transport.js';
import type { LibvirtUri } from './uri.js';

export type DaemonName = 'virtqemud' | 'libvirtd';

export interface SessionDaemon {
  name: DaemonName;
  /** Absolute path of the executable. */
  path: string;
}

/** What a local UNIX connection should dial, and which daemon serves that socket. */
export interface SocketTarget {
  path: string;
  /** direct = the modular QEMU daemon's socket (virtqemud-sock), legacy = the monolithic one (libvirt-sock). */
  mode: 'direct' | 'legacy';
  /** The daemon that listens on `path`: the one to autostart when it is missing. */
  daemon: DaemonName;
  /** True when the socket came from `?socket=` rather than from libvirt's naming rules. */
  explicit: boolean;
  /** True for a per-user (session) socket under the runtime directory. */
  user: boolean;
}

export interface SocketOptions {
  env?: NodeJS.ProcessEnv;
  uid?: number;
  /** Use the system daemon's read-only socket (`-sock-ro`). */
  readonly?: boolean;
  /** Existence test for socket paths; injectable for tests. */
  exists?: (path: string) => boolean;
  /** Which daemons are installed, for the choice when no socket exists yet; injectable for tests. */
  installed?: (name: DaemonName) => boolean;
}

/** The daemon could not be reached and none could be started. `reason` says which step failed. */
export class DaemonUnavailableError extends Error {
  readonly code = 'DAEMON_UNAVAILABLE';
  constructor(
    message: string,
    readonly reason: 'autostart-disabled' | 'not-installed' | 'spawn-failed' | 'timeout' | 'lock-failed',
    readonly socketPath: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DaemonUnavailableError';
  }
}

/** connect() failed for a reason that starting a daemon cannot fix (permissions, not a socket, ...). */
export class SocketConnectError extends Error {
  readonly code = 'SOCKET_CONNECT_FAILED';
  constructor(
    readonly socketPath: string,
    readonly errno: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `cannot connect to the libvirt socket ${socketPath}: ${describeErrno(errno, options?.cause)}`,
      options,
    );
    this.name = 'SocketConnectError';
  }
}

const SYSTEM_SOCKET_DIR = '/var/run/libvirt';
const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];
export const SETUP_HINT = 'install libvirt (scripts/setup-host.sh)';

/**
 * The user's runtime directory ($RT in the docs): $XDG_RUNTIME_DIR, else the user cache directory
 * ($XDG_CACHE_HOME, else ~/.cache) — glib's g_get_user_runtime_dir(), which libvirt uses.
 */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env, uid: number = currentUid()): string {
  if (env.XDG_RUNTIME_DIR) return env.XDG_RUNTIME_DIR;
  if (env.XDG_CACHE_HOME) return env.XDG_CACHE_HOME;
  return join(userHome(env, uid), '.cache');
}

/** $RT/libvirt: the session sockets, the autostart lock files and the daemon's pid file live here. */
export function libvirtRuntimeDir(env: NodeJS.ProcessEnv = process.env, uid: number = currentUid()): string {
  return join(runtimeDir(env, uid), 'libvirt');
}

/**
 * Picks the socket for a local (unix transport) URI like libvirt's client: `?socket=` wins; otherwise the
 * modular socket if it exists, else the monolithic one if it exists, else the socket of the daemon that is
 * installed (virtqemud preferred) — roost's stand-in for libvirt's build-time default. `?mode=direct|legacy`
 * skips the existence checks. Root's `qemu:///session` is served by the system daemon, as in libvirt.
 */
export function resolveSocket(uri: LibvirtUri, opts: SocketOptions = {}): SocketTarget {
  const env = opts.env ?? process.env;
  const uid = opts.uid ?? currentUid();
  const exists = opts.exists ?? existsSync;
  const installed = opts.installed ?? ((name: DaemonName) => findDaemon(name, env) !== undefined);
  const user = uri.scope === 'session' && uid !== 0;

  const dir = user ? libvirtRuntimeDir(env, uid) : SYSTEM_SOCKET_DIR;
  const suffix = !user && opts.readonly ? '-sock-ro' : '-sock';
  const direct = join(dir, `virtqemud${suffix}`);
  const legacy = join(dir, `libvirt${suffix}`);

  let mode: 'direct' | 'legacy';
  if (uri.mode !== 'auto') mode = uri.mode;
  else if (exists(direct)) mode = 'direct';
  else if (exists(legacy)) mode = 'legacy';
  else mode = installed('virtqemud') || !installed('libvirtd') ? 'direct' : 'legacy';

  const daemon: DaemonName = mode === 'direct' ? 'virtqemud' : 'libvirtd';
  if (uri.socket !== undefined) return { path: uri.socket, mode, daemon, explicit: true, user };
  return { path: mode === 'direct' ? direct : legacy, mode, daemon, explicit: false, user };
}

export function socketPathFor(uri: LibvirtUri, opts: SocketOptions = {}): string {
  return resolveSocket(uri, opts).path;
}

/**
 * Whether dialing `uri` may start a session daemon. libvirt's rule (remoteGetURIDaemonInfo): /session,
 * local unix transport, not root, and $LIBVIRT_AUTOSTART is not "0". roost adds: not when `?socket=` names
 * the socket (roost's tests run as root against another user's daemon that way) unless `autostart: true`.
 * `autostart: false` always wins; so does LIBVIRT_AUTOSTART=0.
 */
export function shouldAutostart(
  uri: LibvirtUri,
  opts: { env?: NodeJS.ProcessEnv; uid?: number; autostart?: boolean } = {},
): boolean {
  const env = opts.env ?? process.env;
  const uid = opts.uid ?? currentUid();
  if (opts.autostart === false || env.LIBVIRT_AUTOSTART === '0') return false;
  if (uri.transport !== 'unix' || uri.scope !== 'session' || uid === 0) return false;
  return uri.socket === undefined || opts.autostart === true;
}

/** The installed daemon of that name: /usr/sbin (and friends) first, then $PATH. */
export function findDaemon(name: DaemonName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findExecutable(name, [...SBIN_DIRS, ...(env.PATH ?? '').split(delimiter)]);
}

/** The daemon roost would start for a session: virtqemud if installed, else the monolithic libvirtd. */
export function findSessionDaemon(env: NodeJS.ProcessEnv = process.env): SessionDaemon | undefined {
  for (const name of ['virtqemud', 'libvirtd'] as const) {
    const path = findDaemon(name, env);
    if (path) return { name, path };
  }
  return undefined;
}

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

// --- the autostart lock ------------------------------------------------------------------------------------
//
// libvirt takes an fcntl() lock on $RT/libvirt/<daemon>.lock. Node can take neither fcntl() nor flock()
// locks, so we borrow util-linux's flock(1): we open the lock file ourselves and hand that open file
// description to `flock --exclusive 3` as its fd 3. flock(2) locks belong to the open file description, not to
// the process, so when flock(1) exits 0 the lock stays held through *our* descriptor until we close it.
// Why this and not an O_EXCL lock file: the kernel drops the lock when our process dies, however it dies,
// so there is no stale lock to detect (pid files lie after pid reuse) and no window between "stale?" and
// "take over". libuv opens files O_CLOEXEC, so the daemon we start does not inherit the lock.
// Limits, both harmless: flock and fcntl locks do not see each other, so a virsh starting at the same instant
// is not excluded; and without flock(1) we go unlocked. Either way the daemon's own pid-file lock lets only
// one daemon survive, and our retry loop connects to whichever that is.

interface SpawnLock {
  release(): Promise<void>;
}

async function acquireSpawnLock(lockPath: string, socketPath: string, timeoutMs: number): Promise<SpawnLock> {
  const flock = findExecutable('flock', ['/usr/bin', '/bin', ...(process.env.PATH ?? '').split(delimiter)]);
  if (!flock) return { release: async () => {} };
  const [{ open }, { spawn }] = await Promise.all([import('node:fs/promises'), import('node:child_process')]);
  const handle = await open(lockPath, 'a+', 0o600);
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000)).toString();
  const child = spawn(flock, ['--exclusive', '--wait', seconds, '3'], {
    stdio: ['ignore', 'ignore', 'pipe', handle.fd],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const outcome = await new Promise<number | Error>((resolve) => {
    child.once('error', resolve);
    child.once('close', (code) => resolve(code ?? -1));
  });
  if (outcome === 0) return { release: () => handle.close() };
  await handle.close();
  throw new DaemonUnavailableError(
    outcome === 1
      ? `another process has held ${lockPath} for over ${seconds} s while starting the libvirt daemon for ` +
          `${socketPath}; if no roost or virsh is starting, remove that process (see 'fuser ${lockPath}')`
      : `cannot lock ${lockPath}: ${outcome instanceof Error ? outcome.message : stderr.trim() || `flock exited ${outcome}`}`,
    'lock-failed',
    socketPath,
    outcome instanceof Error ? { cause: outcome } : undefined,
  );
}

// --- small helpers -----------------------------------------------------------------------------------------

/**
 * One connect(); '@name' means a Linux abstract socket, as in libvirt. A non-blocking connect() to a UNIX
 * socket whose listen backlog is full fails with EAGAIN where libvirt's blocking connect() would wait for
 * the daemon to accept: we wait too, retrying for up to `busyMs`.
 */
export async function tryConnect(
  path: string,
  busyMs = 5_000,
): Promise<{ socket?: Transport; error?: unknown }> {
  const deadline = Date.now() + busyMs;
  for (let pause = 1; ; pause = Math.min(pause * 2, 20)) {
    const r = await connectOnce(path);
    if (errnoOf(r.error) !== 'EAGAIN' || Date.now() >= deadline) return r;
    await sleep(pause);
  }
}

// libuv's pipe handle where this Node offers it (dialers/pipe-socket.ts says why), else net.Socket.
async function connectOnce(path: string): Promise<{ socket?: Transport; error?: unknown }> {
  const address = path.startsWith('@') ? `\0${path.slice(1)}` : path;
  try {
    const socket = await connectPipe(address);
    if (socket) return { socket };
  } catch (error) {
    return { error };
  }
  const { createConnection } = await import('node:net');
  return new Promise((resolve) => {
    const socket = createConnection({ path: address });
    const onError = (error: unknown) => {
      socket.destroy();
      resolve({ error });
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve({ socket });
    });
  });
}

/** Nobody listens (yet): the only failures a freshly started daemon can cure. */
function isAbsent(err: unknown): boolean {
  const code = errnoOf(err);
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}

function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describeErrno(errno: string | undefined, cause: unknown): string {
  switch (errno) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied — the socket belongs to another user; run roost as that user';
    case 'ENOTDIR':
      return 'a component of the path is not a directory; check ?socket= and $XDG_RUNTIME_DIR';
    case 'ENAMETOOLONG':
      return 'the path is too long for a UNIX socket (108 bytes); use a shorter ?socket= path';
    default:
      return errno ?? (cause instanceof Error ? cause.message : String(cause));
  }
}

function findExecutable(name: string, dirs: string[]): string | undefined {
  for (const dir of dirs) {
    if (!dir.startsWith('/')) continue; // an empty or relative $PATH entry must not mean "the cwd"
    const candidate = join(dir, name);
    try {
      // accessSync throws for every missing candidate, and a throw costs a stack trace: look first. stat itself
      // still throws for a directory we may not search (EACCES, e.g. root's ~/.cargo/bin left in $PATH).
      if (!statSync(candidate, { throwIfNoEntry: false })) continue;
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function currentUid(): number {
  return process.getuid?.() ?? -1;
}

// $HOME, else the passwd entry of `uid` (roost may run as root on behalf of another user), else os.homedir().
function userHome(env: NodeJS.ProcessEnv, uid: number): string {
  if (env.HOME) return env.HOME;
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields[2] === String(uid) && fields[5]) return fields[5];
    }
  } catch {
    // no readable passwd file: fall through
  }
  return homedir();
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
