// roost top / roost stats and the web server's charts: every VM's CPU, memory, disk and network use from one
// bulk call (virConnectGetAllDomainStats) per refresh, whatever the number of VMs. libvirt reports counters
// (CPU time, bytes moved since the VM started); rates come from two samples taken an interval apart.
import type { LibvirtClient } from '../libvirt/api.js';
import {
  DomainStatsTypes,
  GetAllDomainStatsFlags,
  type Domain,
  type DomainStatsRecord,
} from '../libvirt/types.js';
import type { VmIoStats, VmMemoryStats, VmStats } from '../shared/stats.js';
import { formatUuid, stateName } from './lookup.js';

export type { VmStats } from '../shared/stats.js';

const STATS =
  DomainStatsTypes.STATE |
  DomainStatsTypes.CPU_TOTAL |
  DomainStatsTypes.BALLOON |
  DomainStatsTypes.VCPU |
  DomainStatsTypes.INTERFACE |
  DomainStatsTypes.BLOCK;

// NOWAIT: a VM whose monitor is busy (a snapshot, a migration) answers what it can now instead of holding up the
// whole refresh.
const RUNNING_VMS = GetAllDomainStatsFlags.ACTIVE | GetAllDomainStatsFlags.NOWAIT;

/** One VM's counters at one moment, as libvirt reported them. */
export interface VmCounters {
  name: string;
  uuid: string;
  state: number;
  vcpus: number | null;
  cpuNs: number;
  memory: VmMemoryStats;
  diskRead: number;
  diskWritten: number;
  netReceived: number;
  netSent: number;
}

/** Every VM's counters at `time` (ms since the epoch), by UUID. */
export interface StatsSnapshot {
  time: number;
  vms: Map<string, VmCounters>;
}

/** One bulk call: the running VMs, or exactly `doms` (running or not) when given. */
export async function takeSnapshot(
  client: LibvirtClient,
  doms: Domain[] = [],
  now: () => number = Date.now,
): Promise<StatsSnapshot> {
  const records = await client.allDomainStats(STATS, doms.length > 0 ? 0 : RUNNING_VMS, doms);
  const time = now();
  return { time, vms: new Map(records.map((r) => [formatUuid(r.dom.uuid), countersOf(r)])) };
}

/** A record's typed parameters read into counters; a field libvirt left out reads as null or 0. */
export function countersOf(record: DomainStatsRecord): VmCounters {
  const p = new Map<string, number>();
  for (const { field, value } of record.params) {
    if (typeof value.value === 'number' || typeof value.value === 'bigint') p.set(field, Number(value.value));
  }
  const kib = (field: string) => (p.has(field) ? p.get(field)! / 1024 : null);
  return {
    name: record.dom.name,
    uuid: formatUuid(record.dom.uuid),
    state: p.get('state.state') ?? 0,
    vcpus: p.get('vcpu.current') ?? null,
    cpuNs: p.get('cpu.time') ?? 0,
    memory: {
      currentMiB: kib('balloon.current'),
      maxMiB: kib('balloon.maximum'),
      usedMiB: usedMiB(p),
      rssMiB: kib('balloon.rss'),
    },
    diskRead: sumOver(p, 'block', 'rd.bytes'),
    diskWritten: sumOver(p, 'block', 'wr.bytes'),
    netReceived: sumOver(p, 'net', 'rx.bytes'),
    netSent: sumOver(p, 'net', 'tx.bytes'),
  };
}

/** Memory in use inside the guest: only its balloon driver knows (available and unused, KiB). */
function usedMiB(p: Map<string, number>): number | null {
  const available = p.get('balloon.available');
  const unused = p.get('balloon.unused');
  return available === undefined || unused === undefined ? null : (available - unused) / 1024;
}

/** The sum of `<group>.<i>.<field>` for i below `<group>.count`. */
function sumOver(p: Map<string, number>, group: string, field: string): number {
  let sum = 0;
  for (let i = 0; i < (p.get(`${group}.count`) ?? 0); i++) sum += p.get(`${group}.${i}.${field}`) ?? 0;
  return sum;
}

/**
 * Each VM of `cur` with its rates since `prev`. A VM new in `cur` (or restarted: its counters went down) has no
 * rates yet; a VM of `prev` gone from `cur` (stopped or removed between the samples) is left out.
 */
export function statsBetween(prev: StatsSnapshot | undefined, cur: StatsSnapshot): VmStats[] {
  return [...cur.vms.values()].map((c) => {
    const before = prev?.vms.get(c.uuid);
    const seconds = prev ? (cur.time - prev.time) / 1000 : 0;
    const was = before && seconds > 0 && before.cpuNs <= c.cpuNs ? before : undefined;
    const rate = (now: number, then: number | undefined) =>
      was && then !== undefined && then <= now ? round((now - then) / seconds) : null;
    return {
      name: c.name,
      uuid: c.uuid,
      state: stateName(c.state),
      time: cur.time,
      vcpus: c.vcpus,
      cpuSeconds: c.cpuNs / 1e9,
      cpuPercent: was ? round(((c.cpuNs - was.cpuNs) / 1e9 / seconds) * 100, 1) : null,
      memory: roundMemory(c.memory),
      disk: io(
        c.diskRead,
        c.diskWritten,
        rate(c.diskRead, was?.diskRead),
        rate(c.diskWritten, was?.diskWritten),
      ),
      net: io(c.netReceived, c.netSent, rate(c.netReceived, was?.netReceived), rate(c.netSent, was?.netSent)),
    };
  });
}

function io(
  inBytes: number,
  outBytes: number,
  inPerSecond: number | null,
  outPerSecond: number | null,
): VmIoStats {
  return { inBytes, outBytes, inPerSecond, outPerSecond };
}

function roundMemory(m: VmMemoryStats): VmMemoryStats {
  const r = (v: number | null) => (v === null ? null : round(v, 1));
  return { currentMiB: r(m.currentMiB), maxMiB: r(m.maxMiB), usedMiB: r(m.usedMiB), rssMiB: r(m.rssMiB) };
}

function round(v: number, decimals = 0): number {
  const f = 10 ** decimals;
  return Math.round(v * f) / f;
}

export type StatsSort = 'cpu' | 'mem' | 'name';
export const STATS_SORTS: readonly StatsSort[] = ['cpu', 'mem', 'name'];

/** Busiest first for cpu and mem (ties and unknowns by name), names in code-unit order as `roost ls`. */
export function sortStats(rows: VmStats[], by: StatsSort): VmStats[] {
  const key = (s: VmStats) =>
    by === 'cpu' ? (s.cpuPercent ?? -1) : by === 'mem' ? (s.memory.rssMiB ?? s.memory.currentMiB ?? -1) : 0;
  return [...rows].sort((a, b) => key(b) - key(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Two snapshots `intervalMs` apart: each VM with its rates over that interval (roost top --once, roost stats). */
export async function sampleTwice(
  client: LibvirtClient,
  intervalMs: number,
  doms: Domain[] = [],
): Promise<VmStats[]> {
  const first = await takeSnapshot(client, doms);
  await new Promise((r) => setTimeout(r, intervalMs));
  return statsBetween(first, await takeSnapshot(client, doms));
}
