import { MemoryRevokeStore, type RevokedEntry, type RevokeStore } from '../control/revoke-store.js';
import { ClosedError, ResultTimeoutError } from '../errors.js';
import type { FlowStore, WithFlowStore } from '../flow/flow-store.js';
import { MemoryFlowStore } from '../flow/memory-flow-store.js';
import {
  MemoryTaskIndex,
  type TaskIndex,
  type TaskIndexOption,
  taskIndexSizeOf,
  type WithTaskIndex,
} from '../flow/task-index.js';
import { decodeJson, encodeJson } from '../json-codec.js';
import type { ScheduleSpec, StoredSchedule, TickClaim } from '../producer/schedule-store.js';
import type { ScheduleLock } from '../producer/scheduler.js';
import {
  type BackendCapabilities,
  type ChordJoin,
  type ChordPart,
  READY_STATES,
  type ResultBackend,
  type ResultMeta,
  type StoreOptions,
  type WaitOptions,
} from '../result-backend.js';
import type { WorkflowNodeLinks, WorkflowSnapshot, WorkflowTransition } from '../workflow/workflow-store.js';
import { liveEntry } from './live-entry.js';
import { MemoryScheduleStore } from './memory-schedule-store.js';
import { MemoryWorkflowStore } from './memory-workflow-store.js';

/** Capabilities of the in-memory backend. */
export const memoryBackendCapabilities: BackendCapabilities = Object.freeze({
  push: true,
  ttl: true,
  durable: false,
  chord: true,
});

/** Options for {@link MemoryResultBackend}. */
export interface MemoryResultBackendOptions {
  /** Result time to live; 0 keeps results until forgotten. @default 86_400_000 (1 day, as Celery) */
  readonly ttlMs?: number;
  /**
   * Keep an index of recent tasks for `client.tasks.list()` (`true`: the 10,000 latest; or
   * `{ max }`). @default false
   */
  readonly taskIndex?: TaskIndexOption;
}

interface Stored {
  readonly json: string;
  readonly expiresAt: number;
}

/**
 * An in-memory result backend with push-based waits, TTLs and an atomic chord join. Results are
 * stored serialised, so readers never share objects with writers. It is also a {@link ScheduleLock}
 * for schedulers in the same process, and keeps the fleet's persisted revokes ({@link RevokeStore}).
 */
export class MemoryResultBackend
  implements ResultBackend, ChordJoin, ScheduleLock, RevokeStore, WithFlowStore, WithTaskIndex
{
  readonly name = 'memory';
  readonly capabilities = memoryBackendCapabilities;
  private readonly results = new Map<string, Stored>();
  private readonly waiters = new Map<string, Set<(meta: ResultMeta) => void>>();
  private readonly chords = new Map<string, { size: number | null; parts: Map<number, ChordPart> }>();
  private readonly ttlMs: number;
  private readonly revokes = new MemoryRevokeStore();
  /** Flow control's state (rate buckets, leases, dedupe, paused queues) for this process. */
  readonly flow: FlowStore = new MemoryFlowStore();
  /** Recent tasks, when `taskIndex` was given (listing fails otherwise). */
  readonly taskIndex: TaskIndex;
  private closed = false;

  constructor(options: MemoryResultBackendOptions = {}) {
    this.ttlMs = options.ttlMs ?? 86_400_000;
    this.taskIndex = new MemoryTaskIndex(taskIndexSizeOf(options.taskIndex));
  }

  private read(taskId: string): ResultMeta | null {
    const stored = liveEntry(this.results, taskId);
    return stored ? (decodeJson(stored.json) as ResultMeta) : null;
  }

  async store(meta: ResultMeta, options: StoreOptions = {}): Promise<void> {
    if (this.closed) throw new ClosedError('memory result backend');
    // Ready states are final: a redelivered or terminated task must not change a result a caller
    // may already have been given (a SUCCESS over a REVOKED, a FAILURE over a SUCCESS).
    const current = this.read(meta.task_id)?.status;
    if (current !== undefined && READY_STATES.has(current)) return;
    const ttl = options.ttlMs ?? this.ttlMs;
    this.results.set(meta.task_id, {
      json: encodeJson(meta),
      expiresAt: ttl > 0 ? Date.now() + ttl : Infinity,
    });
    if (READY_STATES.has(meta.status)) {
      const waiters = this.waiters.get(meta.task_id);
      if (waiters) {
        this.waiters.delete(meta.task_id);
        const json = encodeJson(meta);
        for (const w of waiters) w(decodeJson(json) as ResultMeta);
      }
    }
  }

  async get(taskId: string): Promise<ResultMeta | null> {
    return this.read(taskId);
  }

  async getMany(taskIds: readonly string[]): Promise<(ResultMeta | null)[]> {
    return taskIds.map((id) => this.read(id));
  }

  wait(taskId: string, options: WaitOptions = {}): Promise<ResultMeta> {
    const current = this.read(taskId);
    if (current && READY_STATES.has(current.status)) return Promise.resolve(current);
    return new Promise<ResultMeta>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.waiters.get(taskId)?.delete(done);
      };
      const done = (meta: ResultMeta) => {
        cleanup();
        resolve(meta);
      };
      const onAbort = () => {
        cleanup();
        reject(options.signal?.reason);
      };
      let set = this.waiters.get(taskId);
      if (!set) {
        set = new Set();
        this.waiters.set(taskId, set);
      }
      set.add(done);
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          cleanup();
          reject(new ResultTimeoutError(taskId, options.timeoutMs as number));
        }, options.timeoutMs);
      }
      if (options.signal) {
        if (options.signal.aborted) onAbort();
        else options.signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }

  async forget(taskId: string): Promise<void> {
    this.results.delete(taskId);
  }

  private chord(groupId: string) {
    let c = this.chords.get(groupId);
    if (!c) {
      c = { size: null, parts: new Map() };
      this.chords.set(groupId, c);
    }
    return c;
  }

  async setChordSize(groupId: string, size: number): Promise<void> {
    this.chord(groupId).size = size;
  }

  async addChordPart(groupId: string, part: ChordPart): Promise<{ done: number; size: number | null }> {
    const c = this.chord(groupId);
    c.parts.set(part.index, part);
    return { done: c.parts.size, size: c.size };
  }

  async getChordParts(groupId: string): Promise<ChordPart[]> {
    return [...(this.chords.get(groupId)?.parts.values() ?? [])].sort((a, b) => a.index - b.index);
  }

  async deleteChord(groupId: string): Promise<void> {
    this.chords.delete(groupId);
  }

  private readonly claims = new Map<string, number>();
  // Schedules managed at runtime (`ScheduleStore`), for schedulers in this process.
  private readonly schedules = new MemoryScheduleStore();
  // Workflows' state (`WorkflowStore`), for workers and producers in this process.
  private readonly workflows = new MemoryWorkflowStore();

  createWorkflow(
    id: string,
    definition: string,
    nodes: readonly WorkflowNodeLinks[],
    ttlMs: number = this.ttlMs,
  ): Promise<boolean> {
    return this.workflows.createWorkflow(id, definition, nodes, ttlMs);
  }

  completeWorkflowNode(
    id: string,
    node: string,
    state: 'SUCCESS' | 'FAILURE',
    result: string,
  ): Promise<WorkflowTransition | null> {
    return this.workflows.completeWorkflowNode(id, node, state, result);
  }

  getWorkflow(id: string): Promise<WorkflowSnapshot | null> {
    return this.workflows.getWorkflow(id);
  }

  upsertSchedule(spec: ScheduleSpec, now: number): Promise<StoredSchedule> {
    return this.schedules.upsertSchedule(spec, now);
  }

  removeSchedule(id: string): Promise<boolean> {
    return this.schedules.removeSchedule(id);
  }

  listSchedules(): Promise<{ version: number; schedules: StoredSchedule[] }> {
    return this.schedules.listSchedules();
  }

  schedulesVersion(): Promise<number> {
    return this.schedules.schedulesVersion();
  }

  claimTick(id: string, revision: number, at: number): Promise<TickClaim> {
    return this.schedules.claimTick(id, revision, at);
  }

  /** Grants `key` to one caller until `ttlMs` passes (the scheduler's per-tick lock). */
  async claim(key: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    if ((this.claims.get(key) ?? 0) > now) return false;
    this.claims.set(key, now + ttlMs);
    return true;
  }

  /** Whether `close()` was called: a closed backend is never handed out again by the URL loaders. */
  get isClosed(): boolean {
    return this.closed;
  }

  addRevoked(ids: readonly string[], ttlMs?: number): Promise<void> {
    return this.revokes.addRevoked(ids, ttlMs);
  }

  loadRevoked(): Promise<RevokedEntry[]> {
    return this.revokes.loadRevoked();
  }

  onRevoked(listener: (ids: readonly string[]) => void): Promise<() => Promise<void>> {
    return this.revokes.onRevoked(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
