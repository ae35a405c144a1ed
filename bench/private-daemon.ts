// A session daemon of the unprivileged test user with a private HOME and XDG_RUNTIME_DIR, for one benchmark:
// no integration test running at the same time shares it, and whatever the benchmark defines vanishes with the
// directory. bench/run.ts and bench/scale.ts each start one.
import { chownSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSessionDaemon, stopSessionDaemon } from '../test/harness/daemon.js';
import { spawnOptionsFor } from '../test/harness/run.js';
import type { CaseResult } from './rpc.js';
import { ensureTestUser, type TestUser } from '../test/harness/test-user.js';

export interface PrivateDaemon {
  /** The test user as the benchmark sees it: its home is the private directory. */
  user: TestUser;
  /** The test user with their real home (where the guest fixtures are cached). */
  realUser: TestUser;
  uri: string;
  /** Stops the daemon and removes the private directory. */
  stop(): Promise<void>;
}

/** Starts the daemon under ~TESTUSER/.cache/DIRNAME, which is removed before and after. */
export async function startPrivateDaemon(dirName: string): Promise<PrivateDaemon> {
  const realUser = ensureTestUser();
  const home = join(realUser.home, '.cache', dirName);
  const user: TestUser = { ...realUser, home, runtimeDir: join(home, 'run') };
  rmSync(home, { recursive: true, force: true });
  // All made here and the user's: startSessionDaemon would create ~/.cache as root, where the daemon needs to write.
  // ~/.cache itself too: a fresh test user may not have one yet, and one made by root would lock them out.
  const userCache = join(realUser.home, '.cache');
  for (const d of [userCache, home, user.runtimeDir, join(home, '.cache'), join(home, '.config')]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    if (process.getuid?.() === 0) chownSync(d, user.uid, user.gid);
  }
  const daemon = await startSessionDaemon(user);
  return {
    user,
    realUser,
    uri: daemon.uri,
    async stop() {
      await stopSessionDaemon(daemon);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Runs a benchmark program as the test user and returns its JSON result lines. */
export function runJson(user: TestUser, cmd: string, argv: string[]): Promise<CaseResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, {
      ...spawnOptionsFor(user, { cwd: REPO_ROOT }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${cmd} ${argv.join(' ')} exited with ${code}\n${err}`));
      resolve(
        out
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as CaseResult),
      );
    });
  });
}
