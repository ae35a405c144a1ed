import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LibvirtClient } from '../libvirt/api.js';
import { openFakeLibvirt, type FakeLibvirt } from '../libvirt/testing.js';
import type { StatsEvent } from '../shared/stats.js';
import { StatsEvent as StatsEventSchema, VmStatsHistory } from '../shared/testing.js';
import type { VmContext } from '../vm/context.js';
import { createStatsRecorder, type StatsRecorder } from './stats-recorder.js';

let fake: FakeLibvirt;
let client: LibvirtClient;
let recorder: StatsRecorder | undefined;

beforeEach(async () => {
  ({ fake, client } = await openFakeLibvirt());
  fake.domains.set('web', {
    name: 'web',
    uuid: Buffer.alloc(16, 1),
    xml: '',
    active: true,
    persistent: true,
  });
});
afterEach(async () => {
  recorder?.close();
  await client.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hubWith(subscribers: number) {
  const published: StatsEvent[] = [];
  return {
    published,
    subscribers,
    publish: (e: unknown) => void published.push({ ...(e as StatsEvent), time: Date.now() }),
  };
}

async function until(ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await sleep(10);
}

const context = async () => ({ client }) as unknown as VmContext;

describe('the stats recorder', () => {
  it('asks libvirt nothing while no page listens', async () => {
    const hub = hubWith(0);
    recorder = createStatsRecorder({ context, hub, intervalMs: 10 });
    await sleep(80);
    expect(fake.calls).not.toContain('CONNECT_GET_ALL_DOMAIN_STATS');
    expect(hub.published).toEqual([]);
    expect(recorder.history('web').samples).toEqual([]);
  });

  it('publishes one stats event per refresh while a page listens, and keeps the samples per VM', async () => {
    const hub = hubWith(1);
    recorder = createStatsRecorder({ context, hub, intervalMs: 10 });
    await until(() => hub.published.length > 2);
    expect(hub.published.length).toBeGreaterThan(2);
    for (const e of hub.published) StatsEventSchema.parse(e);
    expect(hub.published[0]!.vms.map((v) => v.name)).toEqual(['web']);
    const h = VmStatsHistory.parse(recorder.history('web'));
    // One sample per bulk call (a call may still be in flight as the history is read).
    const calls = fake.calls.filter((c) => c === 'CONNECT_GET_ALL_DOMAIN_STATS').length;
    expect(h.samples.length).toBeGreaterThanOrEqual(calls - 1);
    expect(h.samples.length).toBeLessThanOrEqual(calls);
    expect(h.samples[0]!.cpuPercent).toBeNull();
    expect(h.samples.at(-1)!.cpuPercent).not.toBeNull();
    // All VMs' samples at once (the event stream's snapshot): the same ones, in the same order.
    const all = recorder.all();
    expect(all.length).toBeGreaterThanOrEqual(h.samples.length);
    expect(all.slice(0, h.samples.length)).toEqual(h.samples);
    expect(new Set(all.map((s) => s.name))).toEqual(new Set(['web']));
  });

  it('keeps only the last keepMs of samples, and forgets a VM gone that long', async () => {
    const hub = hubWith(1);
    recorder = createStatsRecorder({ context, hub, intervalMs: 10, keepMs: 50 });
    await until(() => hub.published.length > 10);
    const samples = recorder.history('web').samples;
    expect(samples.length).toBeGreaterThan(0);
    expect(samples.length).toBeLessThanOrEqual(7);
    expect(samples.at(-1)!.time - samples[0]!.time).toBeLessThanOrEqual(50);
    fake.domains.get('web')!.active = false;
    await until(() => recorder!.history('web').samples.length === 0);
    expect(recorder.history('web').samples).toEqual([]);
  });
});
