import { READY_STATES, type ResultBackend } from '@celeriac/core';

/** A task's final state as the backend holds it, and when the poller first saw it. */
export interface FinalState {
  readonly status: string;
  readonly result: unknown;
  readonly at: number;
}

/**
 * Polls the result backend for the tasks of a scenario until each has a final state (SUCCESS,
 * FAILURE or REVOKED), noting when it first saw each one.
 */
export class FinalStates {
  readonly seen = new Map<string, FinalState>();
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly backend: ResultBackend,
    private readonly intervalMs = 200,
  ) {}

  /** Starts watching `ids`. */
  track(ids: readonly string[]): void {
    for (const id of ids) if (!this.seen.has(id)) this.pending.add(id);
    this.timer ??= setInterval(() => void this.poll(), this.intervalMs);
  }

  /** Share of the tracked tasks that have a final state. */
  progress(ids: readonly string[]): number {
    if (ids.length === 0) return 1;
    return ids.filter((id) => this.seen.has(id)).length / ids.length;
  }

  private async poll(): Promise<void> {
    if (this.polling || this.pending.size === 0) return;
    this.polling = true;
    try {
      const ids = [...this.pending];
      for (let i = 0; i < ids.length; i += 1_000) {
        const chunk = ids.slice(i, i + 1_000);
        const metas = await this.backend.getMany(chunk);
        const at = Date.now();
        chunk.forEach((id, k) => {
          const meta = metas[k];
          if (meta && READY_STATES.has(meta.status)) {
            this.seen.set(id, { status: meta.status, result: meta.result, at });
            this.pending.delete(id);
          }
        });
      }
    } catch {
      // The backend is never the target of a fault; a failed poll is simply tried again.
    } finally {
      this.polling = false;
    }
  }

  /** Resolves true once each of `ids` has a final state, false after `timeoutMs`. */
  async settled(ids: readonly string[], timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const done = () => ids.every((id) => this.seen.has(id));
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    return done();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
