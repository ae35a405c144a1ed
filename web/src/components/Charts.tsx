// A VM's CPU, memory, disk and network use over the last 10 minutes, drawn as plain SVG (no chart library: the
// page stays small). Sparklines in the VM list, bigger charts in the VM panel's Usage view. Each chart is an
// image to assistive technology, labelled with its numbers in words (src/shared/plot.ts).
import type { VmStats } from '../../../src/shared/api-types.js';
import {
  describeSeries,
  formatValue,
  METRIC_TITLE,
  METRICS,
  plotPoints,
  scaleTop,
  series,
  type Metric,
} from '../../../src/shared/plot.js';

interface ChartProps {
  metric: Metric;
  samples: readonly VmStats[];
  width: number;
  height: number;
}

function Chart({ metric, samples, width, height, big }: ChartProps & { big?: boolean }) {
  // Drawn again with every stats event (every few seconds): the window ends now, so the line slides left.
  const now = Date.now();
  const latest = samples[samples.length - 1];
  const points = series(samples, metric, now);
  const top = scaleTop(points, metric, latest?.memory.maxMiB);
  const label = describeSeries(metric, points, latest);
  const svg = (
    <svg
      class={big ? 'chart' : 'spark'}
      role="img"
      aria-label={label}
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      preserveAspectRatio="none"
      data-metric={metric}
      data-points={points.length}
    >
      <title>{label}</title>
      {big && <line class="grid" x1={0} x2={width} y1={height / 2} y2={height / 2} />}
      <polyline class={`line line-${metric}`} points={plotPoints(points, { width, height, top, now })} />
    </svg>
  );
  if (!big) return svg;
  // The scale's top outside the SVG: the chart stretches to the panel's width, text must not.
  return (
    <div class="chart-box">
      <span class="scale" aria-hidden="true">
        {formatValue(top, metric)}
      </span>
      {svg}
    </div>
  );
}

/** Four sparklines for a VM's row: CPU, memory, disk, network. */
export function Sparklines({ samples }: { samples: readonly VmStats[] }) {
  return (
    <div class="sparks">
      {METRICS.map((m) => (
        <span class="spark-cell" key={m}>
          <span class="spark-name" aria-hidden="true">
            {m === 'memory' ? 'mem' : m}
          </span>
          <Chart metric={m} samples={samples} width={64} height={18} />
        </span>
      ))}
    </div>
  );
}

/** The VM panel's Usage view: a bigger chart of each metric, with its latest value. */
export function UsageCharts({ samples, running }: { samples: readonly VmStats[]; running: boolean }) {
  const latest = samples[samples.length - 1];
  return (
    <div class="usage" data-testid="usage">
      {!running && samples.length === 0 && <p class="muted">Start the VM to see its use.</p>}
      {running && samples.length === 0 && <p class="muted">The first sample comes within a few seconds…</p>}
      {METRICS.map((m) => (
        <figure key={m} class="usage-chart">
          <figcaption>
            {METRIC_TITLE[m]} <span class="muted">{latest ? latestWords(latest, m) : ''}</span>
          </figcaption>
          <Chart metric={m} samples={samples} width={480} height={120} big />
        </figure>
      ))}
      <p class="muted">
        The last 10 minutes, a sample every few seconds while a page is open (what <code>roost top</code>{' '}
        shows).
      </p>
    </div>
  );
}

function latestWords(s: VmStats, m: Metric): string {
  switch (m) {
    case 'cpu':
      return `${s.cpuPercent === null ? '…' : formatValue(s.cpuPercent, 'cpu')} · ${s.cpuSeconds.toFixed(1)} s of CPU time`;
    case 'memory': {
      const used = s.memory.usedMiB ?? s.memory.rssMiB;
      const of = s.memory.maxMiB ?? s.memory.currentMiB;
      return `${used === null ? '…' : formatValue(used, 'memory')}${of ? ` of ${of} MiB` : ''}${s.memory.usedMiB === null ? ' (QEMU on the host)' : ''}`;
    }
    case 'disk':
      return `read ${rate(s.disk.inPerSecond)}, write ${rate(s.disk.outPerSecond)}`;
    case 'net':
      return `in ${rate(s.net.inPerSecond)}, out ${rate(s.net.outPerSecond)}`;
  }
}

const rate = (v: number | null) => (v === null ? '…' : formatValue(v, 'disk'));
