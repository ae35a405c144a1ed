// The web console's plots of a VM's stats (docs/web.md, Usage): which number each chart draws, how it is said
// in words (the chart's aria-label), and where its points go in an SVG box. Plain numbers and strings, no DOM
// and no imports but sibling shapes: the page draws the SVG, and the unit tests check the arithmetic here.
import type { VmStats } from './stats.js';

export type Metric = 'cpu' | 'memory' | 'disk' | 'net';

export const METRICS: readonly Metric[] = ['cpu', 'memory', 'disk', 'net'];

/** The window the charts show, as the server keeps it (src/server/stats-recorder.ts). */
export const PLOT_WINDOW_MS = 10 * 60 * 1000;

export const METRIC_TITLE: Record<Metric, string> = {
  cpu: 'CPU',
  memory: 'Memory',
  disk: 'Disk I/O',
  net: 'Network I/O',
};

/** Each VM's samples, oldest first, by name: what the page keeps for its charts. */
export type StatsByVm = Record<string, VmStats[]>;

/**
 * The kept samples with `fresh` ones added (a history read and an event may bring the same sample: kept once),
 * each VM's in time order and trimmed to the window ending at `now`; a VM left with none is dropped.
 */
export function withSamples(kept: StatsByVm, fresh: readonly VmStats[], now: number): StatsByVm {
  const next: StatsByVm = {};
  const oldest = now - PLOT_WINDOW_MS;
  for (const [name, list] of Object.entries(kept)) next[name] = list.filter((s) => s.time >= oldest);
  for (const s of fresh) {
    if (s.time < oldest) continue;
    const list = (next[s.name] ??= []);
    if (!list.some((o) => o.time === s.time)) list.push(s);
  }
  for (const [name, list] of Object.entries(next)) {
    if (list.length === 0) delete next[name];
    else list.sort((a, b) => a.time - b.time);
  }
  return next;
}

/** One point of a chart: when, and the value (% of a host CPU, MiB, or bytes per second). */
export interface PlotPoint {
  time: number;
  value: number;
}

/** The value one sample gives the chart of `metric`, or null where the sample has none (a first sample's rate). */
export function metricValue(s: VmStats, metric: Metric): number | null {
  switch (metric) {
    case 'cpu':
      return s.cpuPercent;
    case 'memory':
      // In use inside the guest when its balloon driver says; else what QEMU holds on the host.
      return s.memory.usedMiB ?? s.memory.rssMiB;
    case 'disk':
      return sumRates(s.disk.inPerSecond, s.disk.outPerSecond);
    case 'net':
      return sumRates(s.net.inPerSecond, s.net.outPerSecond);
  }
}

function sumRates(a: number | null, b: number | null): number | null {
  return a === null && b === null ? null : (a ?? 0) + (b ?? 0);
}

/** The points of `metric` among the samples of the last PLOT_WINDOW_MS before `now`, oldest first. */
export function series(samples: readonly VmStats[], metric: Metric, now: number): PlotPoint[] {
  const out: PlotPoint[] = [];
  for (const s of samples) {
    if (s.time < now - PLOT_WINDOW_MS) continue;
    const value = metricValue(s, metric);
    if (value !== null && Number.isFinite(value)) out.push({ time: s.time, value });
  }
  return out;
}

/**
 * Where the points go in a box of width × height (SVG coordinates, y down): time across the window ending at
 * `now`, values from 0 to `top` (the scale). An SVG `points` attribute.
 */
export function plotPoints(
  points: readonly PlotPoint[],
  box: { width: number; height: number; top: number; now: number },
): string {
  const { width, height, top, now } = box;
  const x = (t: number) => width * (1 - Math.min(1, Math.max(0, (now - t) / PLOT_WINDOW_MS)));
  const y = (v: number) => height - (height * Math.min(v, top)) / top;
  return points.map((p) => `${round(x(p.time))},${round(y(p.value))}`).join(' ');
}

const round = (n: number) => Math.round(n * 10) / 10;

/**
 * The top of a chart's scale: CPU at least 100 % (one host CPU), memory the VM's configured size when known,
 * rates at least 1 KiB/s so that an idle VM draws a flat line rather than noise blown up to full height.
 */
export function scaleTop(points: readonly PlotPoint[], metric: Metric, maxMiB?: number | null): number {
  const highest = points.reduce((m, p) => Math.max(m, p.value), 0);
  if (metric === 'cpu') return Math.max(100, Math.ceil(highest / 100) * 100);
  if (metric === 'memory') return Math.max(maxMiB ?? 0, highest, 1);
  return Math.max(1024, highest);
}

/** A value with its unit, as the charts and their labels say it. */
export function formatValue(value: number, metric: Metric): string {
  if (metric === 'cpu') return `${value < 10 ? value.toFixed(1) : Math.round(value)} %`;
  if (metric === 'memory') return `${Math.round(value)} MiB`;
  return `${formatBytes(value)}/s`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 || n >= 10 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

/**
 * What a chart of `metric` says to a screen reader (and in its tooltip): the latest value, the peak over the
 * window and, for CPU, the CPU time used since the VM started (from the latest sample).
 */
export function describeSeries(metric: Metric, points: readonly PlotPoint[], latest?: VmStats): string {
  const title = METRIC_TITLE[metric];
  const last = points[points.length - 1];
  if (!last) return `${title}: no samples yet`;
  const peak = points.reduce((m, p) => Math.max(m, p.value), 0);
  const parts = [`${title} ${formatValue(last.value, metric)} now`, `peak ${formatValue(peak, metric)}`];
  if (metric === 'cpu' && latest) parts.push(`CPU time ${latest.cpuSeconds.toFixed(1)} s`);
  if (metric === 'disk' && latest) parts.push(ioWords(latest.disk, 'read', 'written'));
  if (metric === 'net' && latest) parts.push(ioWords(latest.net, 'received', 'sent'));
  return `${parts.join(', ')} (${points.length} samples over the last ${PLOT_WINDOW_MS / 60_000} minutes)`;
}

function ioWords(io: VmStats['disk'], inWord: string, outWord: string): string {
  return `${formatBytes(io.inBytes)} ${inWord}, ${formatBytes(io.outBytes)} ${outWord} since start`;
}
