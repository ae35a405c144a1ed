// Builds missing guest fixtures by running scripts/build-test-guests.sh (cached by input hash, so this is a
// no-op when they are current).
import { spawn } from 'node:child_process';
import { chownSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { guestsDir, readManifest } from './fixtures.js';
import { run } from './run.js';
import type { TestUser } from './test-user.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Runs the builder for each fixture. The builder itself decides whether its cached build is current (it hashes
 * its inputs), so this is cheap when nothing changed. `verbose` shows the builder's output as it runs.
 */
export async function ensureFixtures(
  user: TestUser,
  which: ('tiny' | 'debian')[],
  opts: { verbose?: boolean } = {},
): Promise<void> {
  ownCacheDirs(user);
  for (const name of which) {
    const argv = [join(repoRoot, 'scripts', 'build-test-guests.sh'), '--only', name];
    const env = { ...process.env, ROOST_TEST_GUESTS_DIR: guestsDir(user) };
    if (opts.verbose) {
      await new Promise<void>((resolve, reject) => {
        const child = spawn('bash', argv, { env, stdio: 'inherit' });
        child.on('error', reject);
        child.on('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`building the ${name} guest failed (exit ${code})`)),
        );
      });
    } else {
      await run('bash', argv, { env, timeoutMs: 30 * 60_000 });
    }
    if (!readManifest(user)[name])
      throw new Error(`the ${name} guest builder finished but left no manifest entry`);
  }
}

/**
 * The builder runs as root and would create the user's ~/.cache as root, where the session daemon later needs
 * to write its logs: make the directories the user's own first.
 */
function ownCacheDirs(user: TestUser): void {
  if (process.getuid?.() !== 0 || process.env.ROOST_TEST_GUESTS_DIR) return;
  let dir = user.home;
  for (const part of ['.cache', 'roost']) {
    dir = join(dir, part);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chownSync(dir, user.uid, user.gid);
  }
}
