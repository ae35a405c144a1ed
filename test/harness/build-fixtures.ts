// Builds missing guest fixtures by running scripts/build-test-guests.sh (cached by input hash, so this is a
// no-op when they are current).
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { guestsDir, readManifest } from './fixtures.js';
import { run } from './run.js';
import type { TestUser } from './test-user.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function ensureFixtures(user: TestUser, which: ('tiny' | 'debian')[]): Promise<void> {
  const manifest = readManifest(user);
  for (const name of which) {
    if (manifest[name]) continue;
    await run('bash', [join(repoRoot, 'scripts', 'build-test-guests.sh'), '--only', name], {
      env: { ...process.env, ROOST_TEST_GUESTS_DIR: guestsDir(user) },
      timeoutMs: 30 * 60_000,
    });
  }
}
