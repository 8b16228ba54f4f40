// Small formatting helpers shared by the views.

/** "3 s ago", "2 min ago" from a time in ms. */
export function ago(ms, now = Date.now()) {
  if (ms == null) return '—';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

/** A duration in seconds, readable. */
export function seconds(s) {
  if (s == null) return '—';
  if (s < 0.001) return `${(s * 1e6).toFixed(0)} µs`;
  if (s < 1) return `${(s * 1000).toFixed(1)} ms`;
  return `${s.toFixed(2)} s`;
}

/** A rate per second, readable. */
export function rate(r) {
  if (r == null) return '—';
  return r >= 10 ? `${r.toFixed(0)}/s` : `${r.toFixed(1)}/s`;
}

/** A clock time from ms. */
export function time(ms) {
  return ms == null ? '—' : new Date(ms).toLocaleTimeString();
}
