// Where the local libvirt daemon listens, which daemon that is, and whether a dial may start it — the client-side
// rules of libvirt's src/remote/remote_sockets.c, in roost's words. docs/protocol.md, Socket paths and autostart,
// is the contract.

import { accessSync, constants as fsConstants, existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { LibvirtUri } from '../uri.js';

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

const SYSTEM_SOCKET_DIR = '/var/run/libvirt';
const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

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

/** The first executable `name` in `dirs` (absolute entries only). */
export function findExecutable(name: string, dirs: string[]): string | undefined {
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

export function currentUid(): number {
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
