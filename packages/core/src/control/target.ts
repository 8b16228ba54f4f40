/**
 * What a node needs from the worker it speaks for, in Celeriac's own terms. The dispatcher turns
 * these into Celery's reply shapes.
 *
 * @packageDocumentation
 */

/** A task message a worker holds: running (active) or waiting for a slot (reserved). */
export interface ControlRequestInfo {
  readonly id: string;
  readonly name: string;
  readonly args: readonly unknown[];
  readonly kwargs: Readonly<Record<string, unknown>>;
  /** Celery's `argsrepr`/`kwargsrepr`, sent instead of the values when a caller asks for `safe`. */
  readonly argsrepr: string;
  readonly kwargsrepr: string;
  readonly queue: string;
  readonly priority: number | null;
  readonly redelivered: boolean;
  /** When the handler started (ms since the epoch); absent while reserved. */
  readonly startedAt?: number;
  /** Celeriac acknowledges after the outcome is stored, so a held message is not acknowledged yet. */
  readonly acknowledged: boolean;
}

/** A registered task and the attributes `registered` can list (`rate_limit`, `time_limit`, …). */
export interface ControlTaskInfo {
  readonly name: string;
  /** Attribute values by Celery's attribute names; `null` or absent ones are left out of replies. */
  readonly attributes?: Readonly<Record<string, string | number | null | undefined>>;
}

/** Counters and settings for `stats`. */
export interface ControlStatsInfo {
  readonly pid: number;
  readonly uptimeMs: number;
  readonly concurrency: number;
  /** Messages the worker may hold at once (running plus reserved). */
  readonly prefetchCount: number;
  /** Tasks processed since start, by task name (Celery's `total`). */
  readonly totals: Readonly<Record<string, number>>;
  readonly autoscale?: { readonly min: number; readonly max: number };
}

/** Soft and hard time limits in seconds; `null` removes a limit. */
export interface ControlTimeLimits {
  readonly soft: number | null;
  readonly hard: number | null;
}

/** How `revoke` should treat tasks that are running. */
export interface ControlRevokeOptions {
  /** Abort running attempts of the tasks (their `AbortSignal` fires), not only later ones. */
  readonly terminate: boolean;
  /** The signal name Celery would send (`SIGTERM`, `SIGKILL`, …); reported, not delivered. */
  readonly signal: string;
}

/**
 * The worker a control node speaks for. Optional members are commands the worker may not support;
 * the dispatcher then answers with Celery's error shape.
 */
export interface ControlTarget {
  /** The node name (`celeriac@host`), as in replies and events. */
  readonly hostname: string;
  stats(): ControlStatsInfo;
  registered(): readonly ControlTaskInfo[];
  /** Tasks whose handler runs now. */
  active(): readonly ControlRequestInfo[];
  /** Tasks received but not started. */
  reserved(): readonly ControlRequestInfo[];
  /** Ids the worker will not run (Celery's in-memory revoked set). */
  revoked(): readonly string[];
  /** Queues consumed now. */
  queues(): readonly string[];
  /**
   * Marks ids as revoked: they will not run, and with `terminate` running attempts are aborted.
   * Resolves with the ids whose running attempt was aborted.
   */
  revoke(ids: readonly string[], options: ControlRevokeOptions): Promise<readonly string[]>;
  /** Revokes by stamp (`{ scheme: [stamp, …] }`); resolves with the stamps of aborted tasks. */
  revokeByStampedHeaders?(
    headers: Readonly<Record<string, readonly string[]>>,
    options: ControlRevokeOptions,
  ): Promise<Readonly<Record<string, readonly string[]>>>;
  /** Changes a task's limits; `false` when no such task is registered. */
  setTimeLimit?(task: string, limits: ControlTimeLimits): boolean;
  /** Changes a task's rate limit (`'10/s'`, `null` to remove); `false` when no such task is registered. */
  setRateLimit?(task: string, rate: string | null): boolean;
  setConcurrency(concurrency: number): void;
  /** Changes the autoscale range; absent or `undefined` when the worker does not autoscale. */
  autoscale?(max: number | null, min: number | null): { max: number; min: number } | undefined;
  addConsumer?(queue: string): void | Promise<void>;
  cancelConsumer?(queue: string): void | Promise<void>;
  /** Turns task events on or off; resolves with whether they were on before, `undefined` when no events are sent. */
  setTaskEvents?(enabled: boolean): boolean | undefined;
  /** Sends a `worker-heartbeat` event now. */
  heartbeat?(): void;
  /**
   * Restarts the execution pool (Celery's `pool_restart`): recycles the worker threads of thread
   * tasks. `false` when there is no pool to restart (every handler runs in-process).
   */
  restartPool?(): boolean;
  /** Stops the worker gracefully (Celery's warm shutdown). */
  shutdown(): void;
  /** Configuration worth showing to `celery inspect conf`. */
  conf?(withDefaults: boolean): Readonly<Record<string, unknown>>;
  /** A human-readable description of the installation, for `celery inspect report`. */
  report?(): string;
}
