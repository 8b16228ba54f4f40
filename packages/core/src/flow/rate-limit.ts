import { ConfigError } from '../errors.js';

/**
 * A rate in Celery's form: `'100/s'`, `'10/m'`, `'1000/h'`, or a number of tasks per second
 * (`'5'`, `5`). `0` means no limit, as in Celery.
 */
export type RateLimit = string | number;

/** A parsed rate: `count` starts per `windowMs`. */
export interface ParsedRate {
  readonly count: number;
  readonly windowMs: number;
}

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Slack added to every window the store enforces, so that handlers starting a little after their
 * admission (a busy event loop, another process) still never show `count + 1` starts in one
 * window. It costs 3% of a per-second rate and nothing measurable of per-minute or per-hour ones.
 */
export const RATE_GUARD_MS = 30;

/** Parses Celery's rate form; `null` for no limit (`0`, `'0/s'`). Throws `ConfigError` on nonsense. */
export function parseRateLimit(rate: RateLimit): ParsedRate | null {
  if (typeof rate === 'number') return checked(rate, 1000, String(rate));
  const [ops = '', unit = 's'] = rate.trim().split('/', 2);
  const windowMs = UNIT_MS[unit.trim()];
  const count = Number(ops);
  if (windowMs === undefined || ops.trim() === '' || !Number.isFinite(count))
    throw new ConfigError(`invalid rate limit "${rate}": expected "<n>/s", "<n>/m" or "<n>/h"`);
  return checked(count, windowMs, rate);
}

function checked(count: number, windowMs: number, text: string): ParsedRate | null {
  if (!Number.isFinite(count) || count < 0)
    throw new ConfigError(`invalid rate limit "${text}": the count must be a number ≥ 0`);
  if (count === 0) return null;
  // A fractional count (`'2.5/s'`) becomes one start per share of the window: the same rate.
  return Number.isInteger(count) ? { count, windowMs } : { count: 1, windowMs: windowMs / count };
}

/**
 * How much further apart reservations are than the window strictly needs: a reserved task that
 * comes back a little late (broker delays are not exact) then still finds room in the window,
 * instead of going back to the broker once more.
 */
export const RATE_SPREAD = 1.02;

/** Milliseconds between two reserved starts under a rate (Celery's bucket of capacity 1, spread). */
export function rateIntervalMs(rate: ParsedRate): number {
  return ((rate.windowMs + RATE_GUARD_MS) * RATE_SPREAD) / rate.count;
}

/** The rate as Celery writes it, for `inspect registered`: `'20/s'`. */
export function formatRate(rate: ParsedRate): string {
  const unit = Object.entries(UNIT_MS).find(([, ms]) => ms === rate.windowMs)?.[0];
  return unit ? `${rate.count}/${unit}` : `${(rate.count * 1000) / rate.windowMs}/s`;
}
