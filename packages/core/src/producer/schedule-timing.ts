import { Cron } from 'croner';
import { ConfigError } from '../errors.js';

/** When a schedule's ticks fall, in ms since the epoch. */
export interface Timing {
  /** The first tick strictly after `after`; `null` when there is none (a pattern that never fires again). */
  next(after: number): number | null;
  /** The last tick at or before `at`; `null` when there is none. */
  previous(at: number): number | null;
}

// Widening look-back windows for a cron's previous tick (croner only walks forward): a per-second
// pattern is found in the first, a yearly one in the last, each after a few steps.
const LOOK_BACK_MS = [2_000, 120_000, 7_200_000, 172_800_000, 64 * 86_400_000, 800 * 86_400_000];

function cronTiming(id: string, pattern: string, timezone: string): Timing {
  let cron: Cron;
  try {
    cron = new Cron(pattern, { timezone, paused: true });
    // croner reads the time zone lazily: an unknown one throws on the first computation.
    cron.nextRun();
  } catch (error) {
    throw new ConfigError(`schedule ${id}: invalid cron "${pattern}" or time zone "${timezone}"`, {
      cause: error,
    });
  }
  const next = (after: number) => cron.nextRun(new Date(after))?.getTime() ?? null;
  return {
    next,
    previous(at) {
      for (const window of LOOK_BACK_MS) {
        let found: number | null = null;
        for (let t = next(at - window); t !== null && t <= at; t = next(t)) found = t;
        if (found !== null) return found;
      }
      return null;
    },
  };
}

/**
 * The timing of a schedule: a cron pattern read in `timezone` (croner applies the zone's daylight
 * saving rules), or a fixed period whose ticks fall on its multiples since the epoch, so every
 * scheduler computes the same ticks. Throws `ConfigError` for an invalid pattern, zone or period.
 */
export function timingOf(spec: {
  readonly id: string;
  readonly cron?: string | undefined;
  readonly everyMs?: number | undefined;
  readonly timezone?: string | undefined;
}): Timing {
  const { id, cron, everyMs } = spec;
  if ((cron === undefined) === (everyMs === undefined))
    throw new ConfigError(`schedule ${id}: give exactly one of cron and everyMs`);
  if (cron !== undefined) return cronTiming(id, cron, spec.timezone ?? 'UTC');
  const every = everyMs as number;
  if (!Number.isInteger(every) || every < 1)
    throw new ConfigError(`schedule ${id}: everyMs must be a positive integer, got ${every}`);
  return {
    next: (after) => (Math.floor(after / every) + 1) * every,
    previous: (at) => Math.floor(at / every) * every,
  };
}

/**
 * The ticks after `from` up to and including `to`, oldest first, at most `max` of them (the most
 * recent ones). Walks back from `to`, so a long gap costs `max` steps, not one per missed tick.
 */
export function ticksBetween(timing: Timing, from: number, to: number, max: number): number[] {
  const ticks: number[] = [];
  for (let t = timing.previous(to); t !== null && t > from && ticks.length < max; t = timing.previous(t - 1))
    ticks.push(t);
  return ticks.reverse();
}
