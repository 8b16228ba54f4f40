import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { TaskContext, TaskImplementation } from '../implement.js';
import {
  errorFromData,
  errorToData,
  type PortMessage,
  type ThreadCall,
  type ThreadReply,
} from './thread-messages.js';

/** Idle threads above one end after this long. */
const IDLE_TIMEOUT_MS = 60_000;

const fromSource = import.meta.url.endsWith('.ts');

/**
 * The compiled entry a thread loads. Run from TypeScript sources (the repository's tests), this
 * file has no compiled neighbour, so the package's build output is used.
 */
function entryUrl(): string {
  return fromSource
    ? new URL('../../../dist/worker/thread/thread-entry.js', import.meta.url).href
    : new URL('./thread-entry.js', import.meta.url).href;
}

/**
 * Threads take the process's Node flags (a loader such as `--import tsx` then works in them too),
 * except, when run from sources, the repository's own export condition: it points packages at
 * TypeScript files a thread cannot load.
 */
function threadExecArgv(): string[] {
  if (!fromSource) return process.execArgv;
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (/^(--conditions|-C)=@celeriac\/source$/.test(arg)) continue;
    if ((arg === '--conditions' || arg === '-C') && argv[i + 1] === '@celeriac/source') {
      i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** Counters of a worker's thread pool. */
export interface ThreadPoolStats {
  /** Threads alive now. */
  readonly threads: number;
  /** Thread tasks running or waiting for a thread. */
  readonly running: number;
  /** Times the pool was recycled (`pool_restart`). */
  readonly restarts: number;
}

/**
 * The worker threads `isolation: 'thread'` tasks run in (Piscina underneath). Each call gets a
 * channel of its own: the soft limit's abort goes to the thread (the handler's `ctx.signal`
 * fires there), `ctx.progress` comes back. The kill signal (hard limit, revoke with terminate,
 * shutdown past its grace) terminates the thread, and the pool starts another.
 */
export class ThreadPool {
  /** Opened on the first call: a worker that never runs a thread task starts no thread. */
  private pool: Piscina | undefined;
  private running = 0;
  private restarts = 0;
  private readonly old = new Set<Promise<void>>();

  constructor(private readonly maxThreads: number = availableParallelism()) {}

  private open(): Piscina {
    this.pool ??= new Piscina({
      filename: entryUrl(),
      name: 'runInThread',
      minThreads: 1,
      maxThreads: Math.max(1, this.maxThreads),
      idleTimeout: IDLE_TIMEOUT_MS,
      execArgv: threadExecArgv(),
    });
    return this.pool;
  }

  /** Runs `impl` in a thread; rejects with the kill signal's reason when killed. */
  async run(impl: TaskImplementation, input: unknown, ctx: TaskContext, kill: AbortSignal): Promise<unknown> {
    if (kill.aborted) throw kill.reason;
    const { port1, port2 } = new MessageChannel();
    const signal = ctx.signal;
    const onAbort = () => {
      const message: PortMessage = { kind: 'abort', reason: errorToData(signal.reason) };
      port1.postMessage(message);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    port1.on('message', (message: PortMessage) => {
      if (message.kind !== 'progress') return;
      ctx.progress(message.meta, message.state).then(
        () => port1.postMessage({ kind: 'progress-done', seq: message.seq } satisfies PortMessage),
        (error: unknown) =>
          port1.postMessage({
            kind: 'progress-done',
            seq: message.seq,
            error: errorToData(error),
          } satisfies PortMessage),
      );
    });
    const call: ThreadCall = {
      module: impl.module ?? '',
      task: impl.contract.name,
      input,
      ctx: {
        id: ctx.id,
        name: ctx.name,
        attempt: ctx.attempt,
        deliveryCount: ctx.deliveryCount,
        queue: ctx.queue,
        rootId: ctx.rootId,
        parentId: ctx.parentId,
        headers: ctx.headers,
      },
      port: port2,
    };
    this.running++;
    try {
      const reply = (await this.open().run(call, { transferList: [port2], signal: kill })) as ThreadReply;
      if (reply.ok) return reply.value;
      throw errorFromData(reply.error);
    } catch (error) {
      // Piscina's AbortError says only that the thread was terminated; the reason is the limit's.
      if (kill.aborted) throw kill.reason;
      throw error;
    } finally {
      this.running--;
      signal.removeEventListener('abort', onAbort);
      port1.close();
    }
  }

  stats(): ThreadPoolStats {
    return { threads: this.pool?.threads.length ?? 0, running: this.running, restarts: this.restarts };
  }

  /**
   * Recycles the threads (Celery's `pool_restart`): new calls go to fresh threads, which import
   * task modules anew; the old threads finish what they run, then end.
   */
  restart(): void {
    const old = this.pool;
    this.pool = undefined;
    this.restarts++;
    if (!old) return;
    const closing = old.close().catch(() => {});
    this.old.add(closing);
    void closing.then(() => this.old.delete(closing));
  }

  /** Ends every thread (running ones are terminated: call it once tasks are done or aborted). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await Promise.all([pool?.destroy(), ...this.old]);
  }
}
