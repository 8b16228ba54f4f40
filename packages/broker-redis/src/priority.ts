import { clampPriority } from '@celeriac/core/adapter';

/** kombu's Redis priority steps: one list per step, served in this order (0 first). */
export const PRIORITY_STEPS = [0, 3, 6, 9] as const;

/** A kombu priority step. */
export type PriorityStep = (typeof PRIORITY_STEPS)[number];

/**
 * Core priority (0..9, 9 most urgent, AMQP sense) to the value kombu stores in
 * `properties.priority` on Redis, where 0 is served first.
 */
export function toWirePriority(corePriority: number | null): number {
  // No priority set: kombu's default (0), the main list — where Python producers' messages go too.
  return corePriority === null ? 0 : 9 - clampPriority(corePriority);
}

/** The value in a Redis envelope (missing means 0, as kombu reads it) back to core priority. */
export function fromWirePriority(wire: unknown): number {
  const value = typeof wire === 'number' && Number.isFinite(wire) ? Math.trunc(wire) : 0;
  return 9 - clampPriority(value);
}

/** kombu's rule: the greatest step not above the wire priority (0-2 → 0, 3-5 → 3, 6-8 → 6, 9 → 9). */
export function stepForWire(wire: number): PriorityStep {
  let step: PriorityStep = 0;
  for (const s of PRIORITY_STEPS) if (wire >= s) step = s;
  return step;
}
