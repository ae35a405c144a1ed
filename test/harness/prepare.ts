// Run by `npm test` before vitest (as `tsx test/harness/prepare.ts [tiny] [debian]`): creates the test user
// when running as root and builds the guest fixtures into that user's cache, with the builder's progress
// shown. Doing it here rather than in vitest's global setup keeps a several-minute first build visible.
import { ensureFixtures } from './build-fixtures.js';
import { guestsDir } from './fixtures.js';
import { ensureTestUser } from './test-user.js';

const which = process.argv.slice(2).filter((a): a is 'tiny' | 'debian' => a === 'tiny' || a === 'debian');
const user = ensureTestUser();
console.log(`test user: ${user.name} (uid ${user.uid}), runtime dir ${user.runtimeDir}`);
console.log(`guest fixtures: ${guestsDir(user)}`);
await ensureFixtures(user, which.length ? which : ['tiny', 'debian'], { verbose: true });
