import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from './connection.js';
import type { Keyspace } from './keys.js';
import { HEARTBEAT } from './lua/maintenance.js';
import { PRELUDE } from './lua/prelude.js';
import { runScript } from './scripts.js';

/** One renewal: the heartbeat script's keys and arguments for one keyspace. */
export interface HeartbeatBeat {
  readonly keyspace: Keyspace;
  readonly heldKey: string;
}

/** What a heartbeat thread needs. */
export interface HeartbeatThreadOptions {
  /** The consumer's command client: the thread opens a connection like it. */
  readonly client: RedisClient;
  readonly cluster: boolean;
  readonly consumerId: string;
  readonly consumerTimeoutMs: number;
  readonly intervalMs: number;
  /** Renewing stops once the event loop has not answered for this long. */
  readonly stallLimitMs: number;
  readonly beats: readonly HeartbeatBeat[];
  onError(error: unknown): void;
}

interface ThreadData {
  readonly ioredis: string;
  readonly lua: string;
  readonly cluster: boolean;
  readonly nodes: readonly { host: string; port: number }[];
  readonly options: Record<string, unknown>;
  /** One argument list per keyspace, as the script takes them. */
  readonly frames: readonly (string | number)[][];
  readonly intervalMs: number;
  readonly stallLimitMs: number;
  /** Bumped by the event loop: the thread renews only while it moves. */
  readonly pulse: SharedArrayBuffer;
}

type ThreadMessage =
  | { readonly kind: 'stalled' | 'resumed' }
  | { readonly kind: 'error'; readonly message: string };

/**
 * The thread's code. Self-contained (it runs from its source text, so it loads the same from the
 * TypeScript sources, the build, or a bundle): it opens its own connection and renews the
 * consumer's heartbeat every interval while the event loop's pulse keeps moving.
 */
function heartbeatMain(load: (id: string) => unknown): void {
  const threads = load('node:worker_threads') as typeof import('node:worker_threads');
  const port = threads.parentPort;
  const data = threads.workerData as ThreadData;
  const ioredis = load(data.ioredis) as typeof import('ioredis');
  type Beat = (...args: (string | number)[]) => Promise<unknown>;
  const client = (
    data.cluster
      ? new ioredis.Cluster([...data.nodes], data.options)
      : new ioredis.Redis(data.options as import('ioredis').RedisOptions)
  ) as (Redis | Cluster) & { celeriacThreadBeat: Beat };
  client.on('error', () => {});
  client.defineCommand('celeriacThreadBeat', { lua: data.lua });
  const pulse = new Int32Array(data.pulse);
  let seen = Atomics.load(pulse, 0);
  let seenAt = Date.now();
  let stalled = false;
  let beating = false;
  const tell = (message: ThreadMessage) => port?.postMessage(message);
  const beat = async () => {
    const now = Date.now();
    const current = Atomics.load(pulse, 0);
    if (current !== seen) {
      seen = current;
      seenAt = now;
      if (stalled) tell({ kind: 'resumed' });
      stalled = false;
    }
    if (now - seenAt > data.stallLimitMs) {
      if (!stalled) tell({ kind: 'stalled' });
      stalled = true;
      return;
    }
    if (beating) return;
    beating = true;
    try {
      for (const frame of data.frames) await client.celeriacThreadBeat(...frame);
    } catch (error) {
      tell({ kind: 'error', message: String((error as Error)?.message ?? error) });
    } finally {
      beating = false;
    }
  };
  const timer = setInterval(() => void beat(), data.intervalMs);
  port?.on('message', (message: unknown) => {
    if (message !== 'stop') return;
    clearInterval(timer);
    port.close();
    client.quit().catch(() => client.disconnect());
  });
}

/** Options a thread can take: no functions (they cannot be cloned), connection name marked. */
function plain(value: unknown, depth = 0): unknown {
  if (typeof value === 'function' || depth > 4) return undefined;
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map((v) => plain(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const p = plain(v, depth + 1);
    if (p !== undefined) out[k] = p;
  }
  return out;
}

function connectionOf(client: RedisClient, cluster: boolean): Pick<ThreadData, 'nodes' | 'options'> {
  const options = plain((client as { options?: unknown }).options ?? {}) as Record<string, unknown>;
  const name = (o: Record<string, unknown> | undefined) =>
    o
      ? { ...o, connectionName: `${String(o.connectionName ?? 'celeriac')}:heartbeat`, lazyConnect: false }
      : o;
  if (!cluster) return { nodes: [], options: name(options) ?? {} };
  const nodes = (client as Cluster).nodes('master').map((n) => ({
    host: String(n.options.host),
    port: Number(n.options.port),
  }));
  return {
    nodes,
    options: { ...options, redisOptions: name(options.redisOptions as Record<string, unknown> | undefined) },
  };
}

/** The script's argument list for one keyspace, exactly as the consumer's own heartbeat sends it. */
async function frameOf(beat: HeartbeatBeat, id: string, timeoutMs: number): Promise<(string | number)[]> {
  let frame: (string | number)[] = [];
  const capture = {
    celeriacHeartbeat: async (...args: (string | number)[]) => {
      frame = args;
    },
  };
  await runScript(
    capture as unknown as RedisClient,
    'celeriacHeartbeat',
    beat.keyspace,
    [beat.heldKey],
    [id, timeoutMs],
  );
  return frame;
}

/**
 * Renews a consumer's heartbeat from a worker thread with a connection of its own, so a busy event
 * loop (a CPU-bound in-process task) does not make a live consumer look dead and its work run twice
 * elsewhere. The event loop sends a pulse every interval; once it has been silent for
 * `stallLimitMs`, the thread stops renewing, so what a process stuck for good holds is recovered
 * `consumerTimeoutMs` later. The consumer's own heartbeat on the event loop goes on as before.
 */
export class HeartbeatThread {
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  private constructor(
    private readonly worker: Worker,
    pulse: SharedArrayBuffer,
    intervalMs: number,
    onError: (error: unknown) => void,
  ) {
    const beats = new Int32Array(pulse);
    // Runs only when the event loop is free: the pulse stops moving while it is blocked.
    this.timer = setInterval(() => Atomics.add(beats, 0, 1), intervalMs).unref();
    worker.unref();
    worker.on('message', (message: ThreadMessage) => {
      if (message.kind === 'error') onError(new Error(`heartbeat thread: ${message.message}`));
      else if (message.kind === 'stalled')
        onError(new Error('heartbeat thread: the event loop stopped answering; no longer renewing'));
    });
    worker.on('error', onError);
  }

  /** Starts the thread; `undefined` (with the reason reported) when it cannot start. */
  static async start(o: HeartbeatThreadOptions): Promise<HeartbeatThread | undefined> {
    try {
      const frames = await Promise.all(o.beats.map((b) => frameOf(b, o.consumerId, o.consumerTimeoutMs)));
      const pulse = new SharedArrayBuffer(4);
      const data: ThreadData = {
        ioredis: createRequire(import.meta.url).resolve('ioredis'),
        lua: PRELUDE + HEARTBEAT,
        cluster: o.cluster,
        ...connectionOf(o.client, o.cluster),
        frames,
        intervalMs: o.intervalMs,
        stallLimitMs: o.stallLimitMs,
        pulse,
      };
      const worker = new Worker(`(${heartbeatMain.toString()})(require)`, { eval: true, workerData: data });
      return new HeartbeatThread(worker, pulse, o.intervalMs, o.onError);
    } catch (error) {
      o.onError(error);
      return undefined;
    }
  }

  /** Stops renewing and ends the thread. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.worker.postMessage('stop');
  }
}
