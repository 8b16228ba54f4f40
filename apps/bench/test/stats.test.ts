import { describe, expect, it } from 'vitest';
import { renderChart } from '../src/report/svg-chart.js';
import { formatRatio, percentile, ratio, windowRate } from '../src/stats.js';

describe('stats', () => {
  it('takes nearest-rank percentiles', () => {
    const xs = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(500);
    expect(percentile(xs, 99)).toBe(990);
    expect(percentile(xs, 99.9)).toBe(999);
    expect(percentile(xs, 100)).toBe(1000);
    expect(percentile([], 50)).toBeNaN();
  });

  it('computes a rate over the measured window only, excluding warm-up completions', () => {
    // 1 completion per ms after a 100 ms start-up gap: the gap must not lower the rate.
    const times = [0, ...Array.from({ length: 1000 }, (_, i) => 100 + i)];
    const withGap = windowRate(times, 1);
    expect(withGap.count).toBe(1000);
    expect(withGap.ms).toBe(1099);
    const w = windowRate(times, 2);
    expect(w.count).toBe(999);
    expect(w.ms).toBe(999);
    expect(w.rate).toBeCloseTo(1000, 6);
  });

  it('formats ratios and refuses missing sides', () => {
    expect(formatRatio(ratio(300, 100))).toBe('3.00×');
    expect(formatRatio(ratio(null, 100))).toBe('—');
    expect(formatRatio(ratio(1, 0))).toBe('—');
  });
});

describe('svg charts', () => {
  it('renders a bar per measured value, with escaped labels', () => {
    const svg = renderChart({
      kind: 'bar',
      title: 'a < b',
      unit: 'tasks/s',
      bars: [
        { group: 'single', series: 'Celeriac', value: 10 },
        { group: 'single', series: 'BullMQ', value: 5 },
      ],
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('a &lt; b');
    expect(svg.match(/height="14"/g)?.length).toBe(2);
  });

  it('renders a line chart with one polyline per series', () => {
    const svg = renderChart({
      kind: 'line',
      title: 'rss',
      xLabel: 'tasks',
      yLabel: 'MiB',
      series: [
        {
          name: 'RSS',
          points: [
            [0, 1],
            [10, 2],
          ],
        },
        {
          name: 'heap',
          points: [
            [0, 0.5],
            [10, 0.7],
          ],
        },
      ],
    });
    expect(svg.match(/<polyline/g)?.length).toBe(2);
  });
});
