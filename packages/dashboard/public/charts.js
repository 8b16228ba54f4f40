// Throughput and latency as inline SVG: a handful of rects and polylines, no chart library.
import { html } from './html.js';

const W = 600;
const H = 120;

/** The span the points cover, e.g. "5 min". */
function window(points) {
  if (points.length < 2) return '—';
  const s = (points.at(-1).at - points[0].at) / 1000 + (points[1].at - points[0].at) / 1000;
  return s >= 60 ? `${Math.round(s / 60)} min` : `${s} s`;
}

/** Stacked bars of succeeded (and failed, on top) tasks per bucket. */
export function ThroughputChart({ points }) {
  const max = Math.max(1, ...points.map((p) => p.succeeded + p.failed));
  const bw = W / Math.max(1, points.length);
  const y = (v) => (v / max) * (H - 14);
  const seconds = points.length > 1 ? (points[1].at - points[0].at) / 1000 : 5;
  return html`<figure class="chart">
    <figcaption>
      Tasks finished per ${seconds} s <span class="muted">(last ${window(points)}, max ${max})</span>
    </figcaption>
    <svg viewBox="0 0 ${W} ${H}" role="img" aria-label="throughput" data-testid="throughput-chart">
      ${points.map((p, i) => {
        const ok = y(p.succeeded);
        const bad = y(p.failed);
        return html`<g key=${p.at}>
          <rect class="ok" x=${i * bw} y=${H - ok} width=${Math.max(1, bw - 1)} height=${ok} />
          <rect class="bad" x=${i * bw} y=${H - ok - bad} width=${Math.max(1, bw - 1)} height=${bad} />
        </g>`;
      })}
    </svg>
    <div class="legend"><span class="ok">succeeded</span> <span class="bad">failed</span></div>
  </figure>`;
}

/** The [x, y] of each bucket that has a value for `key`. */
function xy(points, key, max) {
  const step = W / Math.max(1, points.length - 1);
  return points.flatMap((p, i) => (p[key] == null ? [] : [[i * step, H - (p[key] / max) * (H - 14)]]));
}

/** A line through the buckets with a value, and a dot on each (a lone value makes no line). */
function Series({ points, name, max }) {
  const at = xy(points, name, max);
  return html`<g class=${name}>
    <polyline points=${at.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')} />
    ${at.map(([x, y]) => html`<circle cx=${x} cy=${y} r="2.5" />`)}
  </g>`;
}

/** Run time p50 and p95 per bucket. */
export function LatencyChart({ points }) {
  const max = Math.max(0.001, ...points.map((p) => p.p95 ?? 0));
  return html`<figure class="chart">
    <figcaption>
      Run time p50 / p95 <span class="muted">(last ${window(points)}, max ${(max * 1000).toFixed(1)} ms)</span>
    </figcaption>
    <svg viewBox="0 0 ${W} ${H}" role="img" aria-label="latency" data-testid="latency-chart">
      <${Series} points=${points} name="p95" max=${max} />
      <${Series} points=${points} name="p50" max=${max} />
    </svg>
    <div class="legend"><span class="p50">p50</span> <span class="p95">p95</span></div>
  </figure>`;
}
