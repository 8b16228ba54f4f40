/**
 * Delays on Kafka, which has none: a delayed record waits in a tier topic whose consumer pauses
 * the partition until the head record is due. One fixed delay per tier keeps heads in due order.
 *
 * A record with `remaining` ms to go goes to the longest tier not longer than `remaining` (or the
 * shortest tier when the delay is shorter than every tier). It leaves the tier at
 * `min(dueAt, appendedAt + tierDelay)` and, if still early, hops to a shorter tier. Because every
 * record in tier `d` (but the shortest) has at least `d` to go when appended, a head never holds a
 * record behind it past that record's due time. In the shortest tier, delays shorter than the tier
 * can wait behind an earlier-appended, later-due head by less than the tier's delay.
 */

/** The tier (its delay in ms) for a record that is due in `remainingMs`. */
export function pickTier(tiersMs: readonly number[], remainingMs: number): number {
  let chosen = tiersMs[0] ?? 0;
  for (const tier of tiersMs) if (tier <= remainingMs) chosen = tier;
  return chosen;
}

/** When a record appended to tier `tierMs` at `appendedAt` leaves the tier. */
export function releaseAt(tierMs: number, appendedAt: number, dueAt: number): number {
  return Math.min(dueAt, appendedAt + tierMs);
}

/** Validates and sorts tier delays. */
export function normaliseTiers(tiersMs: readonly number[]): number[] {
  const tiers = [...new Set(tiersMs.map((t) => Math.round(t)))].filter((t) => Number.isFinite(t) && t > 0);
  return tiers.sort((a, b) => a - b);
}
