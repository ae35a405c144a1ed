// A lock file between roost processes pulling the same image: created with O_EXCL ('wx'), holding the owner's
// pid and host. A waiter polls until the file is gone; a lock whose process no longer runs (same host) is stale
// and taken over. (Two waiters may both judge one lock stale at the same instant; the compare-before-delete
// below keeps that window to a few microseconds — good enough for a cache, and a lost race costs one
// redundant download, never a corrupt image: the commit is an atomic rename of a verified file.)
import { hostname } from 'node:os';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { processRuns } from '../process-runs.js';
import { namingWrittenFile } from './fs-errors.js';

export interface FileLock {
  release(): Promise<void>;
}

export interface LockOptions {
  /** Called once when another live process holds the lock. */
  onWait?: (pid: number) => void;
  pollMs?: number;
  signal?: AbortSignal;
}

export async function acquireLock(path: string, opts: LockOptions = {}): Promise<FileLock> {
  const me = `${process.pid}\n${hostname()}\n`;
  let waited = false;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const fh = await open(path, 'wx', 0o600);
      try {
        await fh.writeFile(me);
      } catch (e) {
        // An empty lock (a full disk) would hold off every other pull until it looked stale.
        await rm(path, { force: true });
        throw namingWrittenFile(e, path);
      } finally {
        await fh.close();
      }
      return {
        release: async () => {
          // Only our own lock: never remove one a stale-lock taker wrote after us.
          const now = await readFile(path, 'utf8').catch(() => '');
          if (now === me) await rm(path, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const content = await readFile(path, 'utf8').catch(() => undefined);
    if (content === undefined) continue; // released between our open and read
    const [pidText, host] = content.split('\n');
    const pid = Number(pidText);
    let stale: boolean;
    if (!Number.isInteger(pid) || pid <= 0) {
      // Half-written or garbage: stale once it is a few seconds old.
      const st = await stat(path).catch(() => undefined);
      stale = !st || Date.now() - st.mtimeMs > 5_000;
    } else if (host === hostname()) {
      stale = !processRuns(pid);
    } else {
      const st = await stat(path).catch(() => undefined);
      stale = !st || Date.now() - st.mtimeMs > 24 * 3600_000;
    }
    if (stale) {
      if ((await readFile(path, 'utf8').catch(() => undefined)) === content) await rm(path, { force: true });
      continue;
    }
    if (!waited) {
      waited = true;
      opts.onWait?.(pid);
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
  }
}
