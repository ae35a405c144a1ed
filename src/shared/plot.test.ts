import { describe, expect, it } from 'vitest';
import {
  describeSeries,
  formatBytes,
  metricValue,
  plotPoints,
  PLOT_WINDOW_MS,
  scaleTop,
  series,
  withSamples,
} from './plot.js';
import type { VmStats } from './stats.js';

const NOW = 1_800_000_000_000;

function sample(ageMs: number, over: Partial<VmStats> = {}): VmStats {
  return {
    name: 'web',
    uuid: 'u',
    state: 'running',
    time: NOW - ageMs,
    vcpus: 1,
    cpuSeconds: 12.34,
    cpuPercent: 40,
    memory: { currentMiB: 256, maxMiB: 256, usedMiB: null, rssMiB: 180 },
    disk: { inBytes: 2048, outBytes: 0, inPerSecond: 100, outPerSecond: null },
    net: { inBytes: 0, outBytes: 0, inPerSecond: null, outPerSecond: null },
    ...over,
  };
}

describe('metricValue', () => {
  it('takes CPU %, memory in use (else QEMU RSS), and disk/network reads plus writes', () => {
    const s = sample(0);
    expect(metricValue(s, 'cpu')).toBe(40);
    expect(metricValue(s, 'memory')).toBe(180);
    expect(metricValue({ ...s, memory: { ...s.memory, usedMiB: 90 } }, 'memory')).toBe(90);
    expect(metricValue(s, 'disk')).toBe(100);
    // A first sample has no rates: no point rather than a false zero.
    expect(metricValue(s, 'net')).toBeNull();
    expect(metricValue(sample(0, { cpuPercent: null }), 'cpu')).toBeNull();
  });
});

describe('series', () => {
  it('keeps the samples of the last 10 minutes that have a value, oldest first', () => {
    const samples = [
      sample(PLOT_WINDOW_MS + 1),
      sample(20_000, { cpuPercent: null }),
      sample(10_000, { cpuPercent: 5 }),
      sample(0, { cpuPercent: 7 }),
    ];
    expect(series(samples, 'cpu', NOW)).toEqual([
      { time: NOW - 10_000, value: 5 },
      { time: NOW - 0, value: 7 },
    ]);
  });
});

describe('withSamples', () => {
  it('adds samples once each, in time order, and forgets what left the window', () => {
    const old = sample(PLOT_WINDOW_MS + 1);
    const a = sample(10_000);
    const b = sample(5_000);
    const other = { ...sample(0), name: 'db' };
    const kept = withSamples({ web: [old, b] }, [a, b, other], NOW);
    expect(kept).toEqual({ web: [a, b], db: [other] });
  });

  it('drops a VM whose samples are all too old', () => {
    expect(withSamples({ web: [sample(PLOT_WINDOW_MS + 1)] }, [], NOW)).toEqual({});
  });

  it('does not change what it was given (the page keeps it as state)', () => {
    const kept = { web: [sample(10_000)] };
    withSamples(kept, [sample(0)], NOW);
    expect(kept.web).toHaveLength(1);
  });
});

describe('plotPoints', () => {
  it('puts now at the right edge, 10 minutes ago at the left, 0 at the bottom and the top of the scale at the top', () => {
    const pts = plotPoints(
      [
        { time: NOW - PLOT_WINDOW_MS, value: 0 },
        { time: NOW - PLOT_WINDOW_MS / 2, value: 50 },
        { time: NOW, value: 250 },
      ],
      { width: 100, height: 20, top: 100, now: NOW },
    );
    // A value above the scale is drawn at its top, not outside the box.
    expect(pts).toBe('0,20 50,10 100,0');
  });
});

describe('scaleTop', () => {
  it('is at least one host CPU, the configured memory, or 1 KiB/s', () => {
    expect(scaleTop([{ time: 0, value: 3 }], 'cpu')).toBe(100);
    expect(scaleTop([{ time: 0, value: 150 }], 'cpu')).toBe(200);
    expect(scaleTop([{ time: 0, value: 100 }], 'memory', 256)).toBe(256);
    expect(scaleTop([], 'net')).toBe(1024);
    expect(scaleTop([{ time: 0, value: 5000 }], 'disk')).toBe(5000);
  });
});

describe('describeSeries', () => {
  it('says the latest value, the peak, and the CPU time used', () => {
    const points = [
      { time: NOW - 5000, value: 80 },
      { time: NOW, value: 40 },
    ];
    expect(describeSeries('cpu', points, sample(0))).toBe(
      'CPU 40 % now, peak 80 %, CPU time 12.3 s (2 samples over the last 10 minutes)',
    );
    expect(describeSeries('disk', [{ time: NOW, value: 2048 }], sample(0))).toBe(
      'Disk I/O 2.0 KiB/s now, peak 2.0 KiB/s, 2.0 KiB read, 0 B written since start (1 samples over the last 10 minutes)',
    );
    expect(describeSeries('memory', [])).toBe('Memory: no samples yet');
  });

  it('formats sizes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(50 * 1024 * 1024)).toBe('50 MiB');
  });
});
