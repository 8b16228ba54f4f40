import type { Broker } from '../broker.js';
import type { RetryPolicy } from '../contract.js';
import type { RunnerControl } from '../control/worker-control.js';
import type { FlowGate } from '../flow/flow-gate.js';
import type { Publisher } from '../producer/client-interceptor.js';
import type { ResultBackend, ResultMeta } from '../result-backend.js';
import type { SigningKeys } from '../signing/signing-options.js';
import type { ProgressSink } from './handler-context.js';
import type { TaskImplementation } from './implement.js';
import type { ThreadPool } from './thread/thread-pool.js';
import type { TaskEventMap, TypedEmitter } from './worker-events.js';
import type { ExecuteChain } from './worker-interceptor.js';
import type { ResolvedWorkerLimits } from './worker-limits.js';

/** Everything the runner needs from its worker. */
export interface RunnerDeps {
  readonly broker: Broker;
  /** Where a task's retries and successors are published: the broker behind any publish interceptors. */
  readonly publisher: Publisher;
  readonly backend: ResultBackend | undefined;
  readonly registry: ReadonlyMap<string, TaskImplementation>;
  /** The handler call through the worker's interceptors; `undefined` without any. */
  readonly execute: ExecuteChain | undefined;
  readonly hostname: string;
  readonly trackStarted: boolean;
  readonly maxDeliveries: number;
  readonly defaultRetry: RetryPolicy | undefined;
  readonly events: TypedEmitter<TaskEventMap>;
  /** Aborted when shutdown's grace period is over: running handlers see their signal abort. */
  readonly shutdown: AbortSignal;
  readonly getMeta: (id: string) => Promise<ResultMeta | null>;
  /** Where handlers' `ctx.progress` goes: made once per worker by `progressSink`. */
  readonly progress: ProgressSink;
  /** The worker's control plane (revoked set, running tasks, limit overrides), when it has one. */
  readonly control: RunnerControl | undefined;
  /**
   * Ids whose attempt passed its hard limit but still runs: a copy arriving meanwhile waits, so one
   * worker never runs two attempts of a task at once. Empty unless a hard limit fired.
   */
  readonly abandoned: Set<string>;
  /** What a message may ask of this worker (retries, delays, result size). */
  readonly limits: ResolvedWorkerLimits;
  /** Keys a message must be signed with, when the worker requires signed messages. */
  readonly signing: SigningKeys | undefined;
  /** Flow control's admission step (rate and concurrency limits, dedupe), when the backend keeps its state. */
  readonly flow?: FlowGate | undefined;
  /** Where `isolation: 'thread'` tasks run; absent when the worker has none. */
  readonly threads?: ThreadPool | undefined;
  /** The worker's `deadLetterOnFailure`, for contracts that do not set their own. */
  readonly deadLetterOnFailure?: boolean;
}
