import { describe, expect, it } from 'vitest';
import {
  clearStaleLock,
  findStaleLocks,
  inspectLock,
  lockPathFromError,
  ptyLockCheck,
  type LockHost,
} from './pty-locks.js';

interface FakeFile {
  uid: number;
  text: string;
  symlink?: boolean;
}

/** A host with the given lock files (by path), live processes (pid → comm) and users. */
function fakeHost(
  files: Record<string, FakeFile>,
  procs: Record<number, string> = {},
): LockHost & {
  files: Record<string, FakeFile>;
} {
  return {
    files,
    lstat: (p) => (files[p] ? { uid: files[p].uid, isFile: () => !files[p]!.symlink } : null),
    read: (p) => files[p]?.text ?? null,
    commOf: (pid) => procs[pid] ?? null,
    nameOf: (uid) => ({ 1000: 'alice', 1001: 'bob' })[uid] ?? `uid ${uid}`,
    list: (dir) =>
      Object.keys(files)
        .filter((p) => p.startsWith(dir + '/'))
        .map((p) => p.slice(dir.length + 1)),
    unlink: (p) => {
      if (!files[p]) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      delete files[p];
    },
  };
}

const LOCK = '/run/lock/LCK.._pts_3';

describe('lockPathFromError', () => {
  it("finds the lock in both of libvirt's console-lock messages", () => {
    expect(
      lockPathFromError(
        "Couldn't create lock file for device '/dev/pts/3' in path '/run/lock/LCK.._pts_3': File exists",
      ),
    ).toBe(LOCK);
    expect(
      lockPathFromError(
        "operation failed: Requested device '/dev/pts/3' is locked by lock file '/var/lock/LCK.._pts_3' held by process 4242",
      ),
    ).toBe('/var/lock/LCK.._pts_3');
  });

  it('ignores other errors and paths outside the lock directories', () => {
    expect(lockPathFromError('operation failed: domain is not running')).toBeNull();
    expect(
      lockPathFromError(
        "Couldn't create lock file for device '/dev/pts/3' in path '/home/a/.ssh/id_ed25519'",
      ),
    ).toBeNull();
    expect(
      lockPathFromError("Couldn't create lock file for device '/dev/pts/3' in path '/run/lock/../../etc/x'"),
    ).toBeNull();
  });
});

describe('clearStaleLock', () => {
  it("removes the user's own lock whose PID is gone", () => {
    const host = fakeHost({ [LOCK]: { uid: 1000, text: '      4242\n' } });
    const r = clearStaleLock(LOCK, 1000, host);
    expect(r).toMatchObject({ removed: true, lock: { pid: 4242, owner: 'alice' } });
    expect(host.files[LOCK]).toBeUndefined();
  });

  it("removes the user's own lock whose PID now belongs to something that is not a libvirt daemon", () => {
    const host = fakeHost({ [LOCK]: { uid: 1000, text: '4242\n' } }, { 4242: 'bash' });
    expect(clearStaleLock(LOCK, 1000, host).removed).toBe(true);
  });

  it('keeps a lock a running libvirt daemon holds', () => {
    const host = fakeHost({ [LOCK]: { uid: 1000, text: '4242\n' } }, { 4242: 'virtqemud' });
    expect(clearStaleLock(LOCK, 1000, host)).toMatchObject({ removed: false, reason: 'held' });
    expect(host.files[LOCK]).toBeDefined();
  });

  it("never removes another user's lock, and names its owner", () => {
    const host = fakeHost({ [LOCK]: { uid: 1001, text: '4242\n' } });
    expect(clearStaleLock(LOCK, 1000, host)).toMatchObject({
      removed: false,
      reason: 'not-own',
      lock: { owner: 'bob', uid: 1001 },
    });
    expect(host.files[LOCK]).toBeDefined();
  });

  it('leaves symlinks and paths that are not lock files alone', () => {
    const host = fakeHost({ [LOCK]: { uid: 1000, text: '1\n', symlink: true } });
    expect(clearStaleLock(LOCK, 1000, host)).toMatchObject({ removed: false, reason: 'gone' });
    expect(clearStaleLock('/etc/passwd', 1000, host)).toMatchObject({ removed: false, reason: 'gone' });
    expect(host.files[LOCK]).toBeDefined();
  });
});

describe('ptyLockCheck', () => {
  it('is ok without stale locks (live ones and other lock files do not count)', () => {
    const host = fakeHost(
      { [LOCK]: { uid: 1000, text: '77\n' }, '/run/lock/LCK..ttyS0': { uid: 0, text: '5\n' } },
      { 77: 'libvirtd' },
    );
    expect(ptyLockCheck(1000, host)).toMatchObject({ id: 'pty-locks', status: 'ok' });
  });

  it('warns about each stale lock with its owner and the fix for it', () => {
    const host = fakeHost({
      [LOCK]: { uid: 1000, text: '4242\n' },
      '/run/lock/LCK.._pts_9': { uid: 1001, text: '5151\n' },
    });
    const r = ptyLockCheck(1000, host);
    expect(r.status).toBe('warn');
    expect(r.detail).toContain('/run/lock/LCK.._pts_3 (owner alice, PID 4242');
    expect(r.detail).toContain('/run/lock/LCK.._pts_9 (owner bob, PID 5151');
    expect(r.fix).toBe('rm -f /run/lock/LCK.._pts_3\nsudo rm -f /run/lock/LCK.._pts_9');
  });

  it('counts a lock seen through both /run/lock and /var/lock once', () => {
    const host = fakeHost({
      [LOCK]: { uid: 1000, text: '4242\n' },
      '/var/lock/LCK.._pts_3': { uid: 1000, text: '4242\n' },
    });
    expect(findStaleLocks(host)).toHaveLength(1);
    expect(inspectLock(LOCK, host)).toMatchObject({ pid: 4242, heldByDaemon: false });
  });
});
