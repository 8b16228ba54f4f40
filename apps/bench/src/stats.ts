/** Nearest-rank percentile of an ascending array (`p` in 0..100). NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  // The epsilon keeps float noise (99.9 / 100 * 1000 = 999.0000000000001) from moving up a rank.
  const rank = Math.ceil((p / 100) * sorted.length - 1e-9);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

/** The median of a list of numbers (NaN when empty). */
export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** Wall-clock milliseconds since the epoch with sub-millisecond precision, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Throughput over a measured window of completion timestamps: the first `warmup` completions are
 * excluded, and the window runs from the warm-up's last completion to the final one, so neither
 * process start-up nor a partial warm-up inflates the rate.
 */
export function windowRate(
  sortedTimes: ArrayLike<number>,
  warmup: number,
): { rate: number; ms: number; count: number } {
  const n = sortedTimes.length;
  const w = Math.min(Math.max(1, warmup), n - 1);
  const start = sortedTimes[w - 1] as number;
  const end = sortedTimes[n - 1] as number;
  const ms = end - start;
  const count = n - w;
  return { rate: ms > 0 ? (count * 1000) / ms : Number.NaN, ms, count };
}

/** A ratio `a / b`, NaN when either side is missing. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return Number.NaN;
  return a / b;
}

/** Formats a ratio as `2.31×`, or `—` when unknown. */
export function formatRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : '—';
}

/** Formats a number for a table: thousands separators, `digits` decimals. */
export function formatNumber(v: number, digits?: number): string {
  if (!Number.isFinite(v)) return '—';
  const d = digits ?? (Number.isInteger(v) || Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2);
  return v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** Mebibytes, for memory figures. */
export function mib(bytes: number): number {
  return bytes / (1024 * 1024);
}
