import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LibvirtClient } from '../libvirt/api.js';
import { openFakeLibvirt, type FakeLibvirt } from '../libvirt/testing.js';
import type { TypedParam } from '../libvirt/types.js';
import { VmStats } from '../shared/testing.js';
import { sortStats, statsBetween, takeSnapshot } from './stats.js';

let fake: FakeLibvirt;
let client: LibvirtClient;

beforeEach(async () => {
  ({ fake, client } = await openFakeLibvirt());
});
afterEach(() => client.close());

const ull = (field: string, v: number): TypedParam => ({ field, value: { type: 4, value: BigInt(v) } });
const ui = (field: string, v: number): TypedParam => ({ field, value: { type: 2, value: v } });

function addVm(name: string, n: number, active = true): void {
  fake.domains.set(name, { name, uuid: Buffer.alloc(16, n), xml: '', active, persistent: true });
}

/** What libvirt reports of a running QEMU domain: counters for two disks and one NIC, KiB for memory. */
function report(name: string, c: { cpuNs: number; rd: number; wr: number; rx: number; tx: number }): void {
  fake.stats.set(name, [
    ull('cpu.time', c.cpuNs),
    ui('vcpu.current', 2),
    ull('balloon.current', 1024 * 1024),
    ull('balloon.maximum', 2048 * 1024),
    ull('balloon.available', 1000 * 1024),
    ull('balloon.unused', 600 * 1024),
    ull('balloon.rss', 300 * 1024),
    ui('block.count', 2),
    ull('block.0.rd.bytes', c.rd),
    ull('block.1.rd.bytes', 1000),
    ull('block.0.wr.bytes', c.wr),
    ui('net.count', 1),
    ull('net.0.rx.bytes', c.rx),
    ull('net.0.tx.bytes', c.tx),
    { field: 'block.0.name', value: { type: 7, value: 'vda' } },
  ]);
}

describe('VM stats from the bulk stats call', () => {
  it('reads every running VM in one call, and rates from two samples', async () => {
    addVm('a', 1);
    addVm('off', 2, false);
    report('a', { cpuNs: 1e9, rd: 0, wr: 0, rx: 0, tx: 0 });
    let now = 10_000;
    const first = await takeSnapshot(client, [], () => now);
    report('a', { cpuNs: 2e9, rd: 4096, wr: 8192, rx: 2000, tx: 1000 });
    now += 2000;
    const callsBefore = fake.calls.length;
    const [a, ...rest] = statsBetween(first, await takeSnapshot(client, [], () => now));
    expect(fake.calls.slice(callsBefore)).toEqual(['CONNECT_GET_ALL_DOMAIN_STATS']);
    expect(rest).toEqual([]);
    expect(VmStats.parse(a)).toEqual({
      name: 'a',
      uuid: '01010101-0101-0101-0101-010101010101',
      state: 'running',
      time: 12_000,
      vcpus: 2,
      cpuSeconds: 2,
      cpuPercent: 50,
      memory: { currentMiB: 1024, maxMiB: 2048, usedMiB: 400, rssMiB: 300 },
      disk: { inBytes: 5096, outBytes: 8192, inPerSecond: 2048, outPerSecond: 4096 },
      net: { inBytes: 2000, outBytes: 1000, inPerSecond: 1000, outPerSecond: 500 },
    });
  });

  it('has no rates on the first sample, nor for a VM that restarted (its counters went down)', async () => {
    addVm('a', 1);
    report('a', { cpuNs: 5e9, rd: 100, wr: 100, rx: 100, tx: 100 });
    const first = await takeSnapshot(client);
    expect(statsBetween(undefined, first)[0]).toMatchObject({
      cpuPercent: null,
      disk: { inPerSecond: null },
    });
    report('a', { cpuNs: 1e8, rd: 0, wr: 0, rx: 0, tx: 0 });
    const [a] = statsBetween(first, await takeSnapshot(client, [], () => first.time + 1000));
    expect(a).toMatchObject({ cpuPercent: null, net: { inPerSecond: null, outPerSecond: null } });
  });

  it('leaves out a VM that stopped or vanished between the samples, and adds a new one without rates', async () => {
    addVm('a', 1);
    addVm('b', 2);
    report('a', { cpuNs: 1, rd: 0, wr: 0, rx: 0, tx: 0 });
    report('b', { cpuNs: 1, rd: 0, wr: 0, rx: 0, tx: 0 });
    const first = await takeSnapshot(client);
    fake.domains.delete('a');
    fake.domains.get('b')!.active = false;
    addVm('c', 3);
    const rows = statsBetween(first, await takeSnapshot(client, [], () => first.time + 1000));
    expect(rows.map((r) => [r.name, r.cpuPercent])).toEqual([['c', null]]);
  });

  it('reports memory it was not told as null, not 0', async () => {
    addVm('bare', 1);
    const [s] = statsBetween(undefined, await takeSnapshot(client));
    expect(s!.memory).toEqual({ currentMiB: null, maxMiB: null, usedMiB: null, rssMiB: null });
    expect(s!.vcpus).toBeNull();
  });

  it('answers for 200 VMs with one call', async () => {
    for (let i = 0; i < 200; i++) {
      addVm(`vm${i}`, i);
      report(`vm${i}`, { cpuNs: i, rd: 0, wr: 0, rx: 0, tx: 0 });
    }
    const before = fake.calls.length;
    const snap = await takeSnapshot(client);
    expect(snap.vms.size).toBe(200);
    expect(fake.calls.length - before).toBe(1);
  });
});

describe('sortStats', () => {
  const row = (name: string, cpuPercent: number | null, rssMiB: number | null) =>
    ({ name, cpuPercent, memory: { rssMiB, currentMiB: null } }) as VmStats;
  type VmStats = import('../shared/stats.js').VmStats;
  const rows = [row('b', 10, 100), row('a', 10, 300), row('c', null, null), row('d', 90, 200)];

  it('puts the busiest CPU first, ties by name, unknown last', () => {
    expect(sortStats(rows, 'cpu').map((r) => r.name)).toEqual(['d', 'a', 'b', 'c']);
  });
  it('sorts by memory and by name', () => {
    expect(sortStats(rows, 'mem').map((r) => r.name)).toEqual(['a', 'd', 'b', 'c']);
    expect(sortStats(rows, 'name').map((r) => r.name)).toEqual(['a', 'b', 'c', 'd']);
  });
});
