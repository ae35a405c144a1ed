// roost top --once --json and roost stats NAME --json against two running tiny guests, as the test user through
// the built CLI: both VMs listed from libvirt's bulk stats call, their CPU time rising between two runs, and
// the counters read back as libvirt's own `virsh domstats` reports them.
//
// An idle tiny guest can spend less than one clock tick (10 ms, the granularity of the CPU time libvirt reads
// for a session domain) between two runs, so the test gives both guests work (HTTP requests) before it expects
// their CPU time to have risen.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmStats } from '../../src/shared/stats.js';
import { VmStats as VmStatsSchema } from '../../src/shared/testing.js';
import {
  createScope,
  freePort,
  harness,
  httpGet,
  roost,
  roostJson,
  tinyCreateArgs,
  tinyGuest,
  tinyPageAnswers,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('top', user, uri);
const names = [scope.name('a'), scope.name('b')];
const ports: number[] = [];

async function makeVm(name: string): Promise<number> {
  const port = await freePort();
  const r = await roost(user, [
    'create',
    name,
    ...tinyCreateArgs(tinyGuest(user)),
    '--disk',
    '16M',
    '--port',
    `127.0.0.1:${port}:80`,
    '--wait',
    'none',
  ]);
  expect(r.code, r.stderr).toBe(0);
  expect(await tinyPageAnswers(port, 180_000)).toBe(true);
  return port;
}

/** Keeps each guest's CPU busy for a moment: a burst of requests to its web server. */
async function giveGuestsWork(): Promise<void> {
  await Promise.all(
    ports.map(async (port) => {
      for (let i = 0; i < 20; i++) await httpGet(port);
    }),
  );
}

/** Runs `top --once` until every guest's CPU time has passed what `before` says, giving them work between tries. */
async function topAfterWork(before: VmStats[], deadlineMs: number): Promise<VmStats[]> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    await giveGuestsWork();
    const rows = ours(await roostJson<VmStats[]>(user, ['top', '--once', '--interval', '0.5']));
    const rose = rows.length === before.length && rows.every((r, i) => r.cpuSeconds > before[i]!.cpuSeconds);
    if (rose || Date.now() > end) return rows;
  }
}

const ours = (rows: VmStats[]) =>
  rows.filter((r) => names.includes(r.name)).sort((a, b) => (a.name < b.name ? -1 : 1));

beforeAll(async () => {
  for (const n of names) ports.push(await makeVm(n));
}, 400_000);
afterAll(() => scope.cleanup());

describe('roost top --once --json', () => {
  it(
    'shows both running guests with their CPU time rising and rates over the interval',
    { timeout: 120_000 },
    async () => {
      const first = ours(await roostJson<VmStats[]>(user, ['top', '--once', '--interval', '0.5']));
      const second = await topAfterWork(first, 60_000);
      expect(first.map((r) => r.name)).toEqual(names);
      expect(second.map((r) => r.name)).toEqual(names);
      for (const [i, s] of second.entries()) {
        VmStatsSchema.parse(s);
        expect(s.state).toBe('running');
        expect(s.cpuSeconds).toBeGreaterThan(first[i]!.cpuSeconds);
        expect(s.time).toBeGreaterThan(first[i]!.time);
        expect(s.cpuPercent).not.toBeNull();
        expect(s.vcpus).toBe(1);
        expect(s.memory.maxMiB).toBe(256);
        expect(s.disk.inBytes).toBeGreaterThan(0);
      }
    },
  );

  it('sorts by name when asked, and prints a table when not --json', async () => {
    const rows = await roostJson<VmStats[]>(user, ['top', '--once', '--sort', 'name', '--interval', '0.2']);
    const all = rows.map((r) => r.name);
    expect(all).toEqual([...all].sort());
    const r = await roost(user, ['top', '--once', '--interval', '0.2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+CPU\s+VCPUS/);
    for (const n of names) expect(r.stdout).toContain(n);
  });

  it('refuses an unknown sort key as a usage error', async () => {
    const r = await roost(user, ['top', '--once', '--sort', 'disk']);
    expect(r.code).toBe(2);
  });
});

describe('roost stats NAME --json', () => {
  it("shows one VM's stats, and a clear error for a VM that does not exist", async () => {
    const s = await roostJson<VmStats>(user, ['stats', names[0]!, '--interval', '0.3']);
    expect(VmStatsSchema.parse(s)).toMatchObject({ name: names[0], state: 'running' });
    expect(s.cpuSeconds).toBeGreaterThan(0);
    const r = await roost(user, ['stats', scope.name('none')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no VM named|not found/i);
  });
});
