// The shapes of a VM's resource use: `roost top --json`, `roost stats NAME --json`, GET /api/vms/:name/stats and
// the `stats` event of /api/events (docs/cli-json.md, docs/api.md, docs/stats.md). No imports but sibling shapes:
// the browser uses it too.
import type { VmState } from './vms.js';

/** One VM at one moment: counters since it started, and rates over the interval since the sample before. */
export interface VmStats {
  name: string;
  uuid: string;
  state: VmState;
  /** ms since the epoch, when roost took the sample. */
  time: number;
  /** Virtual CPUs the VM runs with now; null when libvirt did not say (a VM that is not running). */
  vcpus: number | null;
  /** CPU time the VM's QEMU process used since it started, in seconds. */
  cpuSeconds: number;
  /** Share of one host CPU over the interval (200 = two host CPUs busy); null without an earlier sample. */
  cpuPercent: number | null;
  memory: VmMemoryStats;
  disk: VmIoStats;
  net: VmIoStats;
}

/** Memory in MiB; null where neither the balloon driver nor libvirt reported it. */
export interface VmMemoryStats {
  /** What the guest may use now (the balloon's current size). */
  currentMiB: number | null;
  /** The most the balloon may grow to (the VM's configured memory). */
  maxMiB: number | null;
  /** In use inside the guest: available minus unused, as the guest's balloon driver reports it. */
  usedMiB: number | null;
  /** Resident memory of the VM's QEMU process on the host. */
  rssMiB: number | null;
}

/** Bytes moved since the VM started (all disks or all NICs together), and bytes per second over the interval. */
export interface VmIoStats {
  /** Disk: bytes read; network: bytes received. */
  inBytes: number;
  /** Disk: bytes written; network: bytes sent. */
  outBytes: number;
  inPerSecond: number | null;
  outPerSecond: number | null;
}

/** The samples a server keeps of one VM (the last 10 minutes), oldest first: GET /api/vms/:name/stats. */
export interface VmStatsHistory {
  name: string;
  /** ms between samples. */
  intervalMs: number;
  samples: VmStats[];
}

/** A refresh of every running VM's stats on /api/events, while a page listens. */
export interface StatsEvent {
  type: 'stats';
  time: number;
  vms: VmStats[];
}
