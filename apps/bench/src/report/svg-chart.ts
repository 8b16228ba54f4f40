import type { BarChart, Chart, LineChart } from '../types.js';

const PALETTE: Record<string, string> = {
  Celeriac: '#2f9e44',
  BullMQ: '#e8590c',
  'bee-queue': '#f2b705',
  Celery: '#1c7ed6',
};
const FALLBACK = ['#868e96', '#7048e8', '#d6336c', '#0ca678', '#495057'];
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

function colorOf(series: string, index: number): string {
  return PALETTE[series] ?? FALLBACK[index % FALLBACK.length] ?? '#868e96';
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function compact(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  if (Number.isInteger(v) && Math.abs(v) < 1e4) return v.toLocaleString('en-US');
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (Math.abs(v) >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return v.toFixed(v >= 10 ? 1 : 2);
}

/** A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least `max`. */
function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

function legend(series: readonly string[], x: number, y: number): string {
  return series
    .map((s, i) => {
      const lx = x + i * 150;
      return `<rect x="${lx}" y="${y - 10}" width="12" height="12" fill="${colorOf(s, i)}"/><text x="${lx + 17}" y="${y}" font-size="12" ${FONT}>${esc(s)}</text>`;
    })
    .join('');
}

function renderBars(chart: BarChart): string {
  const groups = [...new Set(chart.bars.map((b) => b.group))];
  const series = [...new Set(chart.bars.map((b) => b.series))];
  const barH = 16;
  const gap = 14;
  const left = 170;
  const width = 900;
  const plotW = width - left - 90;
  const top = 60;
  const groupH = series.length * barH + gap;
  const height = top + groups.length * groupH + 40;
  const values = chart.bars.map((b) => b.value).filter((v) => v > 0);
  const ticks: number[] = [];
  let x: (v: number) => number;
  if (chart.log && values.length) {
    const lo = 10 ** Math.floor(Math.log10(Math.min(...values)));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...values)));
    const span = Math.max(1, Math.log10(hi / lo));
    x = (v: number) => left + (Math.log10(Math.max(lo, v) / lo) / span) * plotW;
    for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
  } else {
    const max = niceMax(Math.max(0, ...values));
    x = (v: number) => left + (Math.max(0, v) / max) * plotW;
    for (let t = 0; t <= 5; t++) ticks.push((max * t) / 5);
  }
  const parts: string[] = [
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold" ${FONT}>${esc(chart.title)}</text>`,
    legend(series, left, 46),
  ];
  for (const v of ticks) {
    const tx = x(v);
    parts.push(
      `<line x1="${tx}" y1="${top - 4}" x2="${tx}" y2="${height - 34}" stroke="#e9ecef"/>`,
      `<text x="${tx}" y="${height - 18}" text-anchor="middle" font-size="11" fill="#495057" ${FONT}>${compact(v)}</text>`,
    );
  }
  groups.forEach((g, gi) => {
    const gy = top + gi * groupH;
    parts.push(
      `<text x="${left - 10}" y="${gy + (series.length * barH) / 2 + 4}" text-anchor="end" font-size="12" ${FONT}>${esc(g)}</text>`,
    );
    series.forEach((s, si) => {
      const bar = chart.bars.find((b) => b.group === g && b.series === s);
      const y = gy + si * barH;
      if (!bar) return;
      const w = Math.max(1, x(bar.value) - left);
      parts.push(
        `<rect x="${left}" y="${y + 1}" width="${w.toFixed(1)}" height="${barH - 2}" fill="${colorOf(s, si)}"/>`,
        `<text x="${left + w + 4}" y="${y + barH - 4}" font-size="10" fill="#212529" ${FONT}>${compact(bar.value)}</text>`,
      );
    });
  });
  parts.push(
    `<text x="${left + plotW / 2}" y="${height - 4}" text-anchor="middle" font-size="11" fill="#495057" ${FONT}>${esc(chart.log ? `${chart.unit} (log scale)` : chart.unit)}</text>`,
  );
  return wrap(width, height, parts, chart.title);
}

function renderLines(chart: LineChart): string {
  const width = 900;
  const height = 420;
  const left = 80;
  const right = 30;
  const top = 60;
  const bottom = 60;
  const pts = chart.series.flatMap((s) => s.points);
  const maxX = niceMax(Math.max(0, ...pts.map((p) => p[0])));
  const maxY = niceMax(Math.max(0, ...pts.map((p) => p[1])));
  const x = (v: number) => left + (v / maxX) * (width - left - right);
  const y = (v: number) => height - bottom - (v / maxY) * (height - top - bottom);
  const parts: string[] = [
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold" ${FONT}>${esc(chart.title)}</text>`,
    legend(
      chart.series.map((s) => s.name),
      left,
      46,
    ),
  ];
  for (let t = 0; t <= 5; t++) {
    const vx = (maxX * t) / 5;
    const vy = (maxY * t) / 5;
    parts.push(
      `<line x1="${x(vx)}" y1="${top}" x2="${x(vx)}" y2="${height - bottom}" stroke="#e9ecef"/>`,
      `<text x="${x(vx)}" y="${height - bottom + 16}" text-anchor="middle" font-size="11" fill="#495057" ${FONT}>${compact(vx)}</text>`,
      `<line x1="${left}" y1="${y(vy)}" x2="${width - right}" y2="${y(vy)}" stroke="#e9ecef"/>`,
      `<text x="${left - 6}" y="${y(vy) + 4}" text-anchor="end" font-size="11" fill="#495057" ${FONT}>${compact(vy)}</text>`,
    );
  }
  chart.series.forEach((s, i) => {
    const d = s.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${d}" fill="none" stroke="${colorOf(s.name, i)}" stroke-width="2"/>`);
  });
  parts.push(
    `<text x="${(left + width - right) / 2}" y="${height - 18}" text-anchor="middle" font-size="12" ${FONT}>${esc(chart.xLabel)}</text>`,
    `<text x="18" y="${(top + height - bottom) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 18 ${(top + height - bottom) / 2})" ${FONT}>${esc(chart.yLabel)}</text>`,
  );
  return wrap(width, height, parts, chart.title);
}

function wrap(width: number, height: number, parts: string[], title: string): string {
  // role + title: the chart's alternative text for screen readers.
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n<title>${esc(title)}</title>\n${parts.join('\n')}\n</svg>\n`;
}

/** Renders a chart as a standalone SVG document (no fonts or scripts to load). */
export function renderChart(chart: Chart): string {
  return chart.kind === 'bar' ? renderBars(chart) : renderLines(chart);
}
