import { describe, expect, it } from 'vitest';
import { lineChartSvg, niceTicks } from './svg-chart.js';

describe('niceTicks', () => {
  it('steps of 1, 2 or 5 × 10^k that reach the maximum', () => {
    expect(niceTicks(500)).toEqual([0, 100, 200, 300, 400, 500]);
    expect(niceTicks(87)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0.9)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0)).toEqual([0]);
  });
});

describe('lineChartSvg', () => {
  it('draws one polyline per series with its points in the plot, and escapes labels', () => {
    const svg = lineChartSvg({
      title: 'a < b',
      xLabel: 'domains',
      yLabel: 'ms',
      series: [
        {
          name: 'roost',
          points: [
            { x: 10, y: 50 },
            { x: 500, y: 120 },
          ],
        },
        {
          name: 'virsh',
          points: [
            { x: 10, y: 20 },
            { x: 500, y: 300 },
          ],
        },
      ],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(4);
    expect(svg).toContain('a &lt; b');
    for (const [, x, y] of svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)) {
      expect(Number(x)).toBeGreaterThanOrEqual(64);
      expect(Number(x)).toBeLessThanOrEqual(640 - 170);
      expect(Number(y)).toBeGreaterThanOrEqual(40);
      expect(Number(y)).toBeLessThanOrEqual(360 - 48);
    }
  });
});
