/**
 * Header a producer may stamp with its publish time (ms since the epoch), so workers can measure
 * queue latency for messages without an `eta`. Python Celery ignores headers it does not know.
 */
export const SENT_AT_HEADER = 'x-celeriac-sent-at';

/**
 * When the message became due: the later of its `eta` and its stamped publish time, in ms since
 * the epoch; `undefined` when it carries neither.
 */
export function dueAt(headers: {
  readonly eta?: unknown;
  readonly [key: string]: unknown;
}): number | undefined {
  const eta = typeof headers.eta === 'string' ? Date.parse(headers.eta) : Number.NaN;
  const raw = headers[SENT_AT_HEADER];
  const sent = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : Number.NaN;
  const times = [eta, sent].filter((t) => Number.isFinite(t));
  return times.length ? Math.max(...times) : undefined;
}
