// The web console's charts: while a page listens to /api/events, one bulk stats call every few seconds for all
// VMs, each refresh published on the event hub as a `stats` event and kept per VM for the last 10 minutes
// (GET /api/vms/:name/stats). Memory is bounded: at most keepMs/intervalMs + 1 samples per VM, and a VM not
// seen for keepMs is forgotten. With no page listening, libvirt is not asked at all.
import type { VmStatsHistory } from '../shared/stats.js';
import type { VmContext } from '../vm/context.js';
import type { StatsSnapshot, VmStats } from '../vm/stats.js';
import type { EventHub } from './event-hub.js';

export interface StatsRecorder {
  readonly intervalMs: number;
  /** The samples kept of the VM of this name, oldest first (none when no page listened while it ran). */
  history(name: string): VmStatsHistory;
  /** Every VM's samples kept, each VM's oldest first (the event stream's snapshot). */
  all(): VmStats[];
  close(): void;
}

export interface StatsRecorderOptions {
  context: () => Promise<VmContext>;
  hub: Pick<EventHub, 'publish' | 'subscribers'>;
  intervalMs?: number;
  keepMs?: number;
  onError?: (err: unknown) => void;
}

export const STATS_INTERVAL_MS = 5000;
export const STATS_KEEP_MS = 10 * 60 * 1000;

export function createStatsRecorder(opts: StatsRecorderOptions): StatsRecorder {
  const intervalMs = opts.intervalMs ?? STATS_INTERVAL_MS;
  const keepMs = opts.keepMs ?? STATS_KEEP_MS;
  const kept = new Map<string, VmStats[]>();
  let prev: StatsSnapshot | undefined;
  let busy = false;

  const tick = async () => {
    // Rates across a pause with nobody listening would be averages over the pause: start again instead.
    if (opts.hub.subscribers === 0) return void (prev = undefined);
    if (busy) return;
    busy = true;
    try {
      const [{ takeSnapshot, statsBetween }, ctx] = await Promise.all([
        import('../vm/stats.js'),
        opts.context(),
      ]);
      const cur = await takeSnapshot(ctx.client);
      const vms = statsBetween(prev, cur);
      prev = cur;
      keep(kept, vms, cur.time - keepMs);
      opts.hub.publish({ type: 'stats', vms });
    } catch (err) {
      prev = undefined;
      opts.onError?.(err);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();

  return {
    intervalMs,
    history: (name) => ({ name, intervalMs, samples: [...(kept.get(name) ?? [])] }),
    all: () => [...kept.values()].flat(),
    close: () => clearInterval(timer),
  };
}

/** Appends each VM's sample and drops every sample older than `oldest` (and VMs left with none). */
function keep(kept: Map<string, VmStats[]>, vms: VmStats[], oldest: number): void {
  for (const s of vms) {
    const list = kept.get(s.name) ?? [];
    list.push(s);
    kept.set(s.name, list);
  }
  for (const [name, list] of kept) {
    let stale = 0;
    while (stale < list.length && list[stale]!.time < oldest) stale++;
    if (stale > 0) list.splice(0, stale);
    if (list.length === 0) kept.delete(name);
  }
}
