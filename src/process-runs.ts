// Whether a process still runs, for the lock and record files that name their owner by PID.

/** True when `pid` names a running process, ours or another user's (EPERM: it exists, we may not signal it). */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
