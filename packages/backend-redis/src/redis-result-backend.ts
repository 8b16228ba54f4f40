import { ClosedError, type ResultBackend, type ResultMeta } from '@celeriac/core';
import {
  type BatchOutcome,
  type CarriedStore,
  type CarriesStores,
  type ChordJoin,
  type ChordPart,
  type RevokedEntry,
  type RevokeStore,
  redisTarget,
  type ScheduleSpec,
  type StoredSchedule,
  type StoreOptions,
  type TaskIndex,
  TickBatcher,
  type TickClaim,
  type WaitOptions,
  type WithFlowStore,
  type WithTaskIndex,
  type WorkflowNodeLinks,
  type WorkflowSnapshot,
  type WorkflowTransition,
} from '@celeriac/core/adapter';
import type { ScheduleLock } from '@celeriac/core/producer';
import type { Redis } from 'ioredis';
import { redisBackendCapabilities } from './capabilities.js';
import { carriedStore } from './carried-store.js';
import { ChordStore } from './chord-store.js';
import { closeClient, itemReplyError, openClient } from './clients.js';
import { checkConnection } from './connection-check.js';
import { toCeleriacError } from './errors.js';
import { withFlowScripts } from './flow-scripts.js';
import { flowKeys, RedisFlowStore } from './flow-store.js';
import { type KeySpace, keySpace } from './keys.js';
import { decodeMeta, encodeMeta } from './meta-codec.js';
import { type RedisResultBackendOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { RedisRevokeStore, revokeKeys } from './revoke-store.js';
import { RedisScheduleStore, scheduleKeys } from './schedule-store.js';
import { type StoreScriptClient, withStoreScript } from './store-script.js';
import { type WaitDiagnostics, WaitHub } from './wait-hub.js';
import { RedisWorkflowStore, workflowKeyOf } from './workflow-store.js';

/** One queued `store()`. */
interface StoreItem {
  readonly key: string;
  readonly json: string;
  readonly ttlMs: number;
}

/** Counters for tests and health checks. */
export interface RedisBackendDiagnostics extends WaitDiagnostics {
  /** Round trips used by `store()` so far (one per pipeline when batching). */
  readonly storeRoundTrips: number;
  /** Stores skipped because a ready state (SUCCESS, FAILURE, REVOKED) was already recorded. */
  readonly storesKeptSuccess: number;
}

const MGET_CHUNK = 1000;

/**
 * A Celery-compatible result backend on Redis (ioredis).
 *
 * @remarks
 * - Results live under `celery-task-meta-<id>`, written by one Lua script that keeps an existing
 *   ready state (SUCCESS, FAILURE, REVOKED), else does SETEX (or SET when kept forever) and PUBLISH of
 *   the same JSON.
 * - `store()` calls made in one event-loop turn go out as one pipeline.
 * - `wait()` uses one shared subscriber connection per backend, SUBSCRIBE before GET, plus a slow
 *   poll; waits read the primary so a fresh result is never hidden by replication lag.
 * - `get()`/`getMany()` read from the replica when one is configured.
 * - It is also the schedulers' {@link ScheduleLock}: `claim()` is `SET NX PX` on the primary.
 *
 * @example
 * ```ts
 * const backend = new RedisResultBackend({ url: 'redis://127.0.0.1:6379/0' });
 * await backend.store(buildMeta(TaskState.SUCCESS, id, 42));
 * const meta = await backend.wait(id, { timeoutMs: 10_000 });
 * await backend.close();
 * ```
 */
export class RedisResultBackend
  implements ResultBackend, ChordJoin, ScheduleLock, RevokeStore, WithFlowStore, WithTaskIndex, CarriesStores
{
  readonly name = 'redis';
  readonly capabilities = redisBackendCapabilities;
  private readonly options: ResolvedOptions;
  private readonly keys: KeySpace;
  private readonly primary: StoreScriptClient;
  private readonly reader: Redis;
  private readonly hub: WaitHub;
  private readonly chords: ChordStore;
  private readonly revokes: RedisRevokeStore;
  /** Flow control's state (rate buckets, leases, dedupe, paused queues), Lua on the server's clock. */
  readonly flow: RedisFlowStore;
  /** Recent tasks: written when `taskIndex` is set, listed by any backend on the same Redis. */
  readonly taskIndex: TaskIndex;
  private readonly schedules: RedisScheduleStore;
  private readonly workflows: RedisWorkflowStore;
  private readonly batcher: TickBatcher<StoreItem, number> | undefined;
  /** The server a broker must settle on to carry our stores; `undefined` on Sentinel. */
  private readonly target: string | undefined;
  private roundTrips = 0;
  private keptSuccess = 0;
  private closed = false;

  constructor(options: RedisResultBackendOptions = {}) {
    this.options = resolveOptions(options);
    const { connectionName } = this.options;
    this.keys = keySpace(this.options.globalKeyPrefix);
    this.primary = withStoreScript(openClient(this.options.primary, connectionName));
    // The server a broker must settle on to carry our stores; Sentinel (the primary may move) has none.
    this.target = redisTarget(this.options.primary);
    this.reader = this.options.replica
      ? openClient(this.options.replica, `${connectionName}:read`)
      : this.primary;
    this.hub = new WaitHub({
      primary: this.primary,
      openSubscriber: () => openClient(this.options.primary, `${connectionName}:sub`),
      keyOf: (id) => this.keys.task(id),
      decode: decodeMeta,
      pollIntervalMs: this.options.waitPollIntervalMs,
    });
    this.chords = new ChordStore(this.primary, this.keys, this.options.ttlMs);
    this.revokes = new RedisRevokeStore(
      this.primary,
      () => openClient(this.options.primary, `${connectionName}:revokes`),
      revokeKeys(this.options.globalKeyPrefix),
    );
    this.schedules = new RedisScheduleStore(this.primary, scheduleKeys(this.options.globalKeyPrefix));
    this.workflows = new RedisWorkflowStore(
      this.primary,
      workflowKeyOf(this.options.globalKeyPrefix),
      this.options.ttlMs,
    );
    this.flow = new RedisFlowStore(
      withFlowScripts(this.primary),
      () => openClient(this.options.primary, `${connectionName}:flow`),
      flowKeys(this.options.globalKeyPrefix),
      this.options.taskIndexSize,
      () => this.assertOpen(),
    );
    this.taskIndex = this.flow;
    if (this.options.batchStores) {
      this.batcher = new TickBatcher((items) => this.storeBatch(items), this.options.maxBatchSize);
    }
  }

  /** The primary URL with the password masked. */
  get url(): string {
    return this.options.display;
  }

  /**
   * Proves the backend usable before work starts: reachable, authenticated, in the URL's database
   * (and the same for a read replica). A wrong password or a database the server lacks is a
   * ConfigError, an unreachable server a retriable BrokerError, each at once.
   */
  async ping(): Promise<void> {
    this.assertOpen();
    await checkConnection(this.primary, this.options.display);
    if (this.reader !== this.primary)
      await checkConnection(this.reader, `${this.options.display} (read replica)`);
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError('redis result backend');
  }

  async store(meta: ResultMeta, options: StoreOptions = {}): Promise<void> {
    this.assertOpen();
    const ttlMs = options.ttlMs ?? this.options.ttlMs;
    const item: StoreItem = {
      key: this.keys.task(meta.task_id),
      json: encodeMeta(meta),
      ttlMs: Math.max(0, Math.ceil(ttlMs)),
    };
    let written: number;
    if (this.batcher) {
      written = await this.batcher.push(item);
    } else {
      this.roundTrips++;
      try {
        written = await this.primary.celeriacStore(item.key, item.json, item.ttlMs);
      } catch (error) {
        throw toCeleriacError(error, 'store');
      }
    }
    if (written === 0) this.keptSuccess++;
  }

  /**
   * The write of `store()` for a broker on the same server to run before its ack, in one call
   * (see `CarriedStore`): the same script, so a ready state is kept just the same.
   */
  carriedStore(meta: ResultMeta, options: StoreOptions = {}): CarriedStore | undefined {
    this.assertOpen();
    if (this.target === undefined) return undefined;
    const ttlMs = Math.max(0, Math.ceil(options.ttlMs ?? this.options.ttlMs));
    return carriedStore(this.target, this.keys.task(meta.task_id), encodeMeta(meta), ttlMs, this.carriedDone);
  }

  private readonly carriedDone = (reply: unknown): void => {
    if (reply === 0) this.keptSuccess++;
  };

  private async storeBatch(items: readonly StoreItem[]): Promise<BatchOutcome<number>[]> {
    this.roundTrips++;
    const args: (string | number)[] = [items.length];
    for (const item of items) args.push(item.key);
    for (const item of items) args.push(item.json, item.ttlMs);
    let replies: (number | string)[];
    try {
      replies = await this.primary.celeriacStoreMany(...args);
    } catch (error) {
      const failure = toCeleriacError(error, 'store');
      return items.map(() => ({ ok: false, error: failure }));
    }
    return items.map((_, i) => {
      const value = replies[i];
      return typeof value === 'number'
        ? { ok: true, value }
        : { ok: false, error: toCeleriacError(itemReplyError(value), 'store') };
    });
  }

  async get(taskId: string): Promise<ResultMeta | null> {
    this.assertOpen();
    const key = this.keys.task(taskId);
    let text: string | null;
    try {
      text = await this.reader.get(key);
    } catch (error) {
      throw toCeleriacError(error, 'get');
    }
    return text === null ? null : decodeMeta(text, taskId, key);
  }

  async getMany(taskIds: readonly string[]): Promise<(ResultMeta | null)[]> {
    this.assertOpen();
    if (taskIds.length === 0) return [];
    const keys = taskIds.map((id) => this.keys.task(id));
    const pipeline = this.reader.pipeline();
    for (let i = 0; i < keys.length; i += MGET_CHUNK) pipeline.mget(keys.slice(i, i + MGET_CHUNK));
    let texts: (string | null)[];
    try {
      const replies = (await pipeline.exec()) ?? [];
      texts = replies.flatMap(([error, value]) => {
        if (error) throw error;
        return value as (string | null)[];
      });
    } catch (error) {
      throw toCeleriacError(error, 'getMany');
    }
    return texts.map((text, i) =>
      text === null ? null : decodeMeta(text, taskIds[i] as string, keys[i] as string),
    );
  }

  wait(taskId: string, options?: WaitOptions): Promise<ResultMeta> {
    if (this.closed) return Promise.reject(new ClosedError('redis result backend'));
    return this.hub.wait(taskId, options);
  }

  async forget(taskId: string): Promise<void> {
    this.assertOpen();
    try {
      await this.primary.del(this.keys.task(taskId));
    } catch (error) {
      throw toCeleriacError(error, 'forget');
    }
  }

  /** `SET key 1 NX PX ttl` on the primary: the scheduler's per-tick lock. */
  async claim(key: string, ttlMs: number): Promise<boolean> {
    this.assertOpen();
    try {
      return (await this.primary.set(key, '1', 'PX', Math.max(1, Math.round(ttlMs)), 'NX')) === 'OK';
    } catch (error) {
      throw toCeleriacError(error, 'claim');
    }
  }

  async setChordSize(groupId: string, size: number): Promise<void> {
    this.assertOpen();
    await this.chords.setSize(groupId, size);
  }

  async addChordPart(groupId: string, part: ChordPart): Promise<{ done: number; size: number | null }> {
    this.assertOpen();
    return this.chords.addPart(groupId, part);
  }

  async getChordParts(groupId: string): Promise<ChordPart[]> {
    this.assertOpen();
    return this.chords.parts(groupId);
  }

  async deleteChord(groupId: string): Promise<void> {
    this.assertOpen();
    await this.chords.delete(groupId);
  }

  /** Creates or replaces a stored schedule (the schedulers' `ScheduleStore`), atomically. */
  async upsertSchedule(spec: ScheduleSpec, now: number): Promise<StoredSchedule> {
    this.assertOpen();
    return this.schedules.upsertSchedule(spec, now);
  }

  async removeSchedule(id: string): Promise<boolean> {
    this.assertOpen();
    return this.schedules.removeSchedule(id);
  }

  async listSchedules(): Promise<{ version: number; schedules: StoredSchedule[] }> {
    this.assertOpen();
    return this.schedules.listSchedules();
  }

  async schedulesVersion(): Promise<number> {
    this.assertOpen();
    return this.schedules.schedulesVersion();
  }

  /** Claims a schedule's tick in one Lua script: each tick goes to one scheduler. */
  async claimTick(id: string, revision: number, at: number): Promise<TickClaim> {
    this.assertOpen();
    return this.schedules.claimTick(id, revision, at);
  }

  /** Creates a workflow's state (the `WorkflowStore`), in one Lua script; false when the id exists. */
  async createWorkflow(
    id: string,
    definition: string,
    nodes: readonly WorkflowNodeLinks[],
    ttlMs?: number,
  ): Promise<boolean> {
    this.assertOpen();
    return this.workflows.createWorkflow(id, definition, nodes, ttlMs);
  }

  /** Records a workflow node's outcome and applies it to the graph, in one Lua script. */
  async completeWorkflowNode(
    id: string,
    node: string,
    state: 'SUCCESS' | 'FAILURE',
    result: string,
  ): Promise<WorkflowTransition | null> {
    this.assertOpen();
    return this.workflows.completeWorkflowNode(id, node, state, result);
  }

  async getWorkflow(id: string): Promise<WorkflowSnapshot | null> {
    this.assertOpen();
    return this.workflows.getWorkflow(id);
  }

  /** Persists revoked ids (the fleet's revoked set, with its own expiry) and tells listening workers. */
  async addRevoked(ids: readonly string[], ttlMs?: number): Promise<void> {
    this.assertOpen();
    await this.revokes.addRevoked(ids, ttlMs);
  }

  async loadRevoked(): Promise<RevokedEntry[]> {
    this.assertOpen();
    return this.revokes.loadRevoked();
  }

  onRevoked(listener: (ids: readonly string[]) => void, onResync?: () => void): Promise<() => Promise<void>> {
    this.assertOpen();
    return this.revokes.onRevoked(listener, onResync);
  }

  /** Counters: subscriber connections, subscribed channels, pending waits, store round trips. */
  diagnostics(): RedisBackendDiagnostics {
    return {
      ...this.hub.diagnostics(),
      storeRoundTrips: this.roundTrips,
      storesKeptSuccess: this.keptSuccess,
    };
  }

  /** Sends queued stores, rejects pending waits with `ClosedError`, and closes every connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.batcher?.drain();
    await this.hub.close();
    await this.revokes.close();
    await this.flow.close();
    await Promise.all([
      closeClient(this.primary),
      this.reader !== this.primary ? closeClient(this.reader) : null,
    ]);
  }
}
