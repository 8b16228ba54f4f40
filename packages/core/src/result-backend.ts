/** Task states, with the same names as Celery's. */
export const TaskState = {
  PENDING: 'PENDING',
  RECEIVED: 'RECEIVED',
  STARTED: 'STARTED',
  RETRY: 'RETRY',
  SUCCESS: 'SUCCESS',
  FAILURE: 'FAILURE',
  REVOKED: 'REVOKED',
} as const;

/** A task state name. */
export type TaskState = (typeof TaskState)[keyof typeof TaskState];

/** States after which nothing more happens to a task. */
export const READY_STATES: ReadonlySet<string> = new Set([
  TaskState.SUCCESS,
  TaskState.FAILURE,
  TaskState.REVOKED,
]);

/** Celery's wire form of an exception: `exc_message` is an array of the exception's args. */
export interface ExceptionInfo {
  exc_type: string;
  exc_message: unknown[] | string;
  exc_module: string | null;
}

/**
 * Celery's task meta, exactly as stored under `celery-task-meta-<id>`, so Python clients can read
 * what TS workers write and the reverse.
 */
export interface ResultMeta {
  status: TaskState | (string & {});
  /** The return value; an {@link ExceptionInfo} for FAILURE/RETRY/REVOKED; `{pid, hostname}` for STARTED. */
  result: unknown;
  traceback: string | null;
  children: unknown[];
  /** ISO-8601 with offset when ready, else null. */
  date_done: string | null;
  task_id: string;
  group_id?: string;
  parent_id?: string;
  name?: string | null;
  args?: unknown[] | null;
  kwargs?: Record<string, unknown> | null;
  worker?: string | null;
  retries?: number | null;
  queue?: string | null;
  [extra: string]: unknown;
}

/** One finished member of a chord header, as the join records it. */
export interface ChordPart {
  readonly index: number;
  readonly taskId: string;
  readonly state: string;
  readonly result: unknown;
}

/** What a result backend supports. Declared, never detected. */
export interface BackendCapabilities {
  /** `wait()` is pushed (pub/sub), not polled. */
  readonly push: boolean;
  /** Results expire after a TTL. */
  readonly ttl: boolean;
  /** Results survive a restart of the process that wrote them. */
  readonly durable: boolean;
  /**
   * The backend implements {@link ChordJoin} (atomic across processes). When false, the chord
   * methods may be absent, and a chord over this backend fails with `UnsupportedError`.
   */
  readonly chord: boolean;
}

/** Options for {@link ResultBackend.store}. */
export interface StoreOptions {
  /** Time to live; 0 keeps the result until `forget()`. Defaults to the backend's TTL (1 day). */
  readonly ttlMs?: number;
}

/** Options for {@link ResultBackend.wait}. */
export interface WaitOptions {
  /** Reject with `ResultTimeoutError` after this long. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * The chord join: the producer records the header size, each finished header member is added, and
 * the last one reads every part and publishes the body (as Celery's Redis backend does). Required of
 * a {@link ResultBackend} that declares `capabilities.chord`.
 */
export interface ChordJoin {
  /** Records the chord header size (the producer does this before publishing the header). */
  setChordSize(groupId: string, size: number): Promise<void>;
  /** Records one finished header member; returns how many are done and the expected size. */
  addChordPart(groupId: string, part: ChordPart): Promise<{ done: number; size: number | null }>;
  /** Header members in index order. */
  getChordParts(groupId: string): Promise<ChordPart[]>;
  deleteChord(groupId: string): Promise<void>;
}

/**
 * Where task states and results live.
 *
 * @remarks
 * `store` is idempotent and never overwrites a SUCCESS (as Celery's backend), so a redelivered
 * task can never corrupt a finished result.
 *
 * The {@link ChordJoin} methods are optional: a backend implements them exactly when it declares
 * `capabilities.chord`. Use {@link hasChordJoin} before calling them.
 */
export interface ResultBackend extends Partial<ChordJoin> {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  store(meta: ResultMeta, options?: StoreOptions): Promise<void>;
  /** The meta of a task; `null` means PENDING (unknown id). */
  get(taskId: string): Promise<ResultMeta | null>;
  getMany(taskIds: readonly string[]): Promise<(ResultMeta | null)[]>;
  /** Resolves with the meta once the task is in a ready state (SUCCESS, FAILURE, REVOKED). */
  wait(taskId: string, options?: WaitOptions): Promise<ResultMeta>;
  forget(taskId: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Whether a backend can join chords: it declares `capabilities.chord` and has every
 * {@link ChordJoin} method (a declaration without the methods counts as absent).
 */
export function hasChordJoin(backend: ResultBackend): backend is ResultBackend & ChordJoin {
  return (
    backend.capabilities.chord &&
    typeof backend.setChordSize === 'function' &&
    typeof backend.addChordPart === 'function' &&
    typeof backend.getChordParts === 'function' &&
    typeof backend.deleteChord === 'function'
  );
}
