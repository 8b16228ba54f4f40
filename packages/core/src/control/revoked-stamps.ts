import type { TaskHeaders } from '../message.js';

/**
 * Stamps revoked by `revoke_by_stamped_headers`: a task whose stamped headers carry one of them is
 * not run (Celery keeps the same in memory, by scheme). Kept for the worker's life, as Celery's.
 */
export class RevokedStamps {
  private readonly byScheme = new Map<string, Set<string>>();

  get size(): number {
    return this.byScheme.size;
  }

  add(headers: Readonly<Record<string, readonly string[]>>): void {
    for (const [scheme, stamps] of Object.entries(headers)) {
      const known = this.byScheme.get(scheme) ?? new Set<string>();
      for (const stamp of stamps) known.add(stamp);
      this.byScheme.set(scheme, known);
    }
  }

  /** Whether a message's stamps hit a revoked one. */
  matches(headers: Pick<TaskHeaders, 'stamped_headers' | 'stamps'>): boolean {
    return this.byScheme.size > 0 && Object.keys(hits(headers, this.byScheme)).length > 0;
  }

  /** The stamps of `headers` that `wanted` names, by scheme (what a terminate reports). */
  static hits(
    headers: Pick<TaskHeaders, 'stamped_headers' | 'stamps'>,
    wanted: Readonly<Record<string, readonly string[]>>,
  ): Record<string, string[]> {
    const sets = new Map(Object.entries(wanted).map(([k, v]) => [k, new Set(v)]));
    return hits(headers, sets);
  }
}

function hits(
  headers: Pick<TaskHeaders, 'stamped_headers' | 'stamps'>,
  revoked: ReadonlyMap<string, ReadonlySet<string>>,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  // Only schemes the message declares stamped count, as Celery's `Request.stamps`.
  for (const scheme of headers.stamped_headers ?? []) {
    const wanted = revoked.get(scheme);
    const value = headers.stamps[scheme];
    if (!wanted || value === undefined || value === null) continue;
    const found = (Array.isArray(value) ? value : [value]).map(String).filter((v) => wanted.has(v));
    if (found.length) out[scheme] = found;
  }
  return out;
}
