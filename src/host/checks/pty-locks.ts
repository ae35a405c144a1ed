// libvirt's console locks: UUCP-style lock files (/run/lock/LCK.._pts_N) that a libvirt daemon writes, with its
// PID, while a client holds a VM's serial console on that PTY, and removes when the console closes.
//
// A daemon killed while a console is attached leaves its lock behind. libvirt itself removes a lock whose PID is
// gone, but only when it may: the lock directory is shared by every user and sticky, so a lock left by another
// user's daemon stays until that user or root removes it ("Couldn't create lock file … File exists"), and a
// lock whose PID was since reused by an unrelated process looks held ("… held by process N"). PTY numbers are
// reused by whoever opens a terminal next, so such a lock blocks the console of any VM of any user that gets
// that PTY. roost removes a stale lock when it is the user's own, and otherwise names the file and its owner.
//
// The paths come from the daemon's error message: only a plain LCK.. name directly inside a known lock
// directory is ever touched.
import { lstatSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { CheckResult } from './types.js';

/** Where libvirt's builds put them (VIR_CHRDEV_LOCK_FILE_PATH): /var/lock, on most hosts a link to /run/lock. */
export const LOCK_DIRS = ['/run/lock', '/var/lock'];
/** The processes that write console locks: the monolithic and the modular QEMU daemon. */
const DAEMON_NAMES = new Set(['libvirtd', 'virtqemud']);
const LOCK_NAME = /^LCK\.\.[A-Za-z0-9_.-]+$/;

export interface PtyLock {
  path: string;
  /** Owner of the file. */
  uid: number;
  owner: string;
  /** The PID written in it, or null when it holds none. */
  pid: number | null;
  /** A libvirt daemon with that PID runs: the lock may be real. */
  heldByDaemon: boolean;
}

/** What roost needs from the host to judge a lock; tests pass their own. */
export interface LockHost {
  lstat(path: string): { uid: number; isFile(): boolean } | null;
  read(path: string): string | null;
  /** The command name (/proc/PID/comm) of a live process, or null when no such process runs. */
  commOf(pid: number): string | null;
  nameOf(uid: number): string;
  list(dir: string): string[];
  unlink(path: string): void;
}

export const realLockHost: LockHost = {
  lstat: (path) => {
    try {
      return lstatSync(path);
    } catch {
      return null;
    }
  },
  read: (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  },
  commOf: (pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return null;
    }
  },
  nameOf: (uid) => userName(uid),
  list: (dir) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
  unlink: (path) => unlinkSync(path),
};

function userName(uid: number): string {
  if (uid === process.getuid?.()) return userInfo().username;
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (id === String(uid) && name) return name;
    }
  } catch {
    // no passwd file to ask: the number will do
  }
  return `uid ${uid}`;
}

/** The lock file a libvirt console error names, if the error is about one (and the path is a lock's). */
export function lockPathFromError(message: string): string | null {
  const m =
    /Couldn't create lock file for device '[^']*' in path '([^']+)'/.exec(message) ??
    /is locked by lock file '([^']+)' held by process/.exec(message);
  if (!m) return null;
  return isLockPath(m[1]!) ? m[1]! : null;
}

/** A plain LCK.. file directly in one of libvirt's lock directories. */
export function isLockPath(path: string): boolean {
  const at = path.lastIndexOf('/');
  return LOCK_DIRS.includes(path.slice(0, at)) && LOCK_NAME.test(path.slice(at + 1));
}

/** What the lock file at `path` says, or null when it is gone or not a regular file. */
export function inspectLock(path: string, host: LockHost = realLockHost): PtyLock | null {
  const st = host.lstat(path);
  if (!st || !st.isFile()) return null;
  const text = host.read(path);
  const pid = text !== null && /^\s*\d+\s*$/.test(text) ? Number(text.trim()) : null;
  const comm = pid !== null && pid > 0 ? host.commOf(pid) : null;
  return {
    path,
    uid: st.uid,
    owner: host.nameOf(st.uid),
    pid,
    heldByDaemon: comm !== null && DAEMON_NAMES.has(comm),
  };
}

/** Stale: no libvirt daemon with its PID runs, so no console holds it. */
export function isStale(lock: PtyLock): boolean {
  return !lock.heldByDaemon;
}

export type ClearResult =
  | { removed: true; lock: PtyLock }
  | { removed: false; lock: PtyLock | null; reason: 'gone' | 'held' | 'not-own' | 'unlink-failed' };

/** Removes the lock at `path` if it is stale and `uid`'s own; otherwise says why not. */
export function clearStaleLock(path: string, uid: number, host: LockHost = realLockHost): ClearResult {
  if (!isLockPath(path)) return { removed: false, lock: null, reason: 'gone' };
  const lock = inspectLock(path, host);
  if (!lock) return { removed: false, lock, reason: 'gone' };
  if (!isStale(lock)) return { removed: false, lock, reason: 'held' };
  if (lock.uid !== uid) return { removed: false, lock, reason: 'not-own' };
  try {
    host.unlink(path);
  } catch {
    return { removed: false, lock, reason: 'unlink-failed' };
  }
  return { removed: true, lock };
}

/** Every stale libvirt-style PTY lock in the lock directories (each file once, however the dirs are linked). */
export function findStaleLocks(host: LockHost = realLockHost): PtyLock[] {
  const seen = new Set<string>();
  const out: PtyLock[] = [];
  for (const dir of LOCK_DIRS) {
    for (const name of host.list(dir)) {
      if (!LOCK_NAME.test(name) || !name.startsWith('LCK.._pts_')) continue;
      const lock = inspectLock(`${dir}/${name}`, host);
      if (!lock || !isStale(lock)) continue;
      const key = `${name}:${lock.uid}:${lock.pid}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(lock);
    }
  }
  return out;
}

/** How to get rid of a stale lock, for the user who meets it. */
export function lockFix(lock: PtyLock, uid: number): string {
  return lock.uid === uid ? `rm -f ${lock.path}` : `sudo rm -f ${lock.path}`;
}

export function describeLock(lock: PtyLock): string {
  const pid =
    lock.pid === null
      ? 'no PID'
      : `PID ${lock.pid}, ${lock.heldByDaemon ? 'a running libvirt daemon' : 'no libvirt daemon'}`;
  return `${lock.path} (owner ${lock.owner}, ${pid})`;
}

/** roost doctor: stale console locks that would make `roost console` fail on a VM that gets that PTY. */
export function ptyLockCheck(uid: number, host: LockHost = realLockHost): CheckResult {
  const result = { id: 'pty-locks', title: 'no stale console locks' };
  const stale = findStaleLocks(host);
  if (stale.length === 0) {
    return {
      ...result,
      status: 'ok',
      detail: 'no console lock left behind by a libvirt daemon that is gone',
    };
  }
  const own = stale.filter((l) => l.uid === uid);
  const others = stale.filter((l) => l.uid !== uid);
  const parts: string[] = [];
  if (own.length > 0) {
    parts.push(`yours (roost console removes them when it meets one): ${own.map(describeLock).join(', ')}`);
  }
  if (others.length > 0) {
    parts.push(
      `other users' (only they or root can remove them; a VM of yours that gets that PTY has no console ` +
        `until then): ${others.map(describeLock).join(', ')}`,
    );
  }
  return {
    ...result,
    status: 'warn',
    detail: `console locks left by a libvirt daemon that died while a console was attached — ${parts.join('; ')}`,
    fix: stale.map((l) => lockFix(l, uid)).join('\n'),
  };
}
