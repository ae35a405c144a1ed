// The autostart lock: while one roost process checks for, starts and waits for the session daemon, the others
// wait for it, then find the daemon listening.
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

import { delimiter } from 'node:path';
import { DaemonUnavailableError } from '../errors.js';
import { findExecutable } from './socket-path.js';

export interface SpawnLock {
  release(): Promise<void>;
}

export async function acquireSpawnLock(
  lockPath: string,
  socketPath: string,
  timeoutMs: number,
): Promise<SpawnLock> {
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
