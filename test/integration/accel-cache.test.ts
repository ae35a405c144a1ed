// A stale accelerator cache: accel.json says kvm for this boot, but the test user's daemon cannot use KVM
// (/dev/kvm is root's here, or absent). roost must believe the daemon: create succeeds under tcg and corrects the
// cache; `roost doctor` shows no ✓ for KVM.
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roostPaths } from '../../src/paths.js';
import {
  createScope,
  harness,
  roost,
  roostJson,
  tinyCreateArgs,
  tinyGuest,
  userEnv,
  virsh,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('accel', user, uri);
const paths = roostPaths(userEnv(user));
const cacheFile = join(paths.cache, 'accel.json');
const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

function plantStaleKvm(): void {
  mkdirSync(dirname(cacheFile), { recursive: true, mode: 0o700 });
  for (const dir of [dirname(dirname(cacheFile)), dirname(cacheFile)]) chownSync(dir, user.uid, user.gid);
  const stale = { accel: 'kvm', reason: '/dev/kvm works: a probe guest booted under KVM', bootId };
  writeFileSync(cacheFile, JSON.stringify(stale) + '\n', { mode: 0o600 });
  chownSync(cacheFile, user.uid, user.gid);
}

const cached = () => JSON.parse(readFileSync(cacheFile, 'utf8')) as { accel: string; bootId: string };

beforeAll(async () => {
  // The premise: this daemon offers no KVM (else there is nothing stale to test).
  const caps = (await virsh(uri, ['domcapabilities'], { check: false })).stdout;
  if (/<domain>kvm<\/domain>/.test(caps))
    throw new Error('the test daemon offers KVM: this test needs a host without');
});
afterAll(() => scope.cleanup());

describe('an accel.json saying kvm the daemon refuses', () => {
  it('create succeeds under tcg and the cache is corrected', async () => {
    plantStaleKvm();
    const name = scope.name('vm');
    const r = await roostJson<{ accel: string }>(user, [
      'create',
      name,
      ...tinyCreateArgs(tinyGuest(user)),
      '--no-start',
    ]);
    expect(r.accel).toBe('tcg');
    expect((await virsh(uri, ['dumpxml', name])).stdout).toMatch(/<domain type='qemu'/);
    expect(cached()).toMatchObject({ accel: 'tcg', bootId });
  });

  it('roost doctor shows no ✓ for KVM and corrects the cache', async () => {
    plantStaleKvm();
    const r = await roost(user, ['doctor', '--json'], { timeoutMs: 120_000 });
    const accel = (
      JSON.parse(r.stdout) as { checks: { id: string; status: string; detail: string }[] }
    ).checks.find((c) => c.id === 'accel')!;
    expect(accel.status).not.toBe('ok');
    expect(accel.detail).toMatch(/^tcg: /);
    expect(cached().accel).toBe('tcg');
  });
});
