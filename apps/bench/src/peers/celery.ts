import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { nowMs } from '../stats.js';

const PYTHON_DIR = fileURLToPath(new URL('../../python/', import.meta.url));

function env(redisUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, CELERIAC_REDIS_URL: redisUrl, PYTHONDONTWRITEBYTECODE: '1', ...extra };
}

/** Runs `bench_enqueue.py`: `count` apply_async calls; resolves with the rate Python measured. */
export function celeryEnqueue(
  python: string,
  redisUrl: string,
  queue: string,
  count: number,
  options: { warmup?: number; idPrefix?: string } = {},
): Promise<{ count: number; seconds: number; rate: number }> {
  const args = ['bench_enqueue.py', queue, String(count), '--warmup', String(options.warmup ?? 0)];
  if (options.idPrefix) args.push('--id-prefix', options.idPrefix);
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { cwd: PYTHON_DIR, env: env(redisUrl) });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0)
        return reject(new Error(`bench_enqueue.py exited ${code}: ${err.trim().split('\n').pop()}`));
      try {
        resolve(
          JSON.parse(out.trim().split('\n').pop() ?? '') as { count: number; seconds: number; rate: number },
        );
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** Celery worker processes started by {@link startCeleryWorkers}. */
export interface CeleryWorkers {
  readonly processes: readonly ChildProcess[];
  stop(): Promise<void>;
}

/**
 * Starts `processes` real Celery workers (threads pool, `concurrency` each) on `queue`, and resolves
 * once every one of them announced `worker_ready` on the subscriber's channel.
 */
export async function startCeleryWorkers(options: {
  python: string;
  redisUrl: string;
  queue: string;
  concurrency: number;
  processes: number;
  subscriber: Redis;
  readyChannel: string;
}): Promise<CeleryWorkers> {
  const ready = new Set<string>();
  const onMessage = (channel: string, message: string) => {
    if (channel === options.readyChannel) ready.add(message);
  };
  options.subscriber.on('message', onMessage);
  await options.subscriber.subscribe(options.readyChannel);
  const procs: ChildProcess[] = [];
  const failures: string[] = [];
  for (let i = 0; i < options.processes; i++) {
    const p = spawn(
      options.python,
      [
        '-m',
        'celery',
        '-A',
        'bench_app',
        'worker',
        '-Q',
        options.queue,
        '-c',
        String(options.concurrency),
        '--pool',
        'threads',
        '-l',
        'warning',
        '-n',
        `bench${i}-${options.queue}@%h`,
        '--without-gossip',
        '--without-mingle',
        '--without-heartbeat',
      ],
      {
        cwd: PYTHON_DIR,
        env: env(options.redisUrl, { BENCH_READY_CHANNEL: options.readyChannel }),
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    p.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    p.on('exit', (code) => {
      if (code !== 0 && code !== null)
        failures.push(`celery worker exited ${code}: ${err.trim().split('\n').pop()}`);
    });
    procs.push(p);
  }
  const stop = async () => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
            p.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            p.kill('SIGTERM');
          }),
      ),
    );
    options.subscriber.off('message', onMessage);
    await options.subscriber.unsubscribe(options.readyChannel).catch(() => {});
  };
  const deadline = Date.now() + 90_000;
  while (ready.size < options.processes) {
    if (failures.length || Date.now() > deadline) {
      await stop();
      throw new Error(failures[0] ?? 'celery workers did not become ready within 90 s');
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { processes: procs, stop };
}

/** A subscription counting Celery results; see {@link watchCeleryResults}. */
export interface CeleryResultWatch {
  /** Waits until every expected result was seen (or the timeout), then unsubscribes. */
  finish(timeoutMs: number): Promise<{ times: Float64Array; complete: boolean }>;
}

/**
 * Counts Celery results as the Redis backend publishes them (`celery-task-meta-<id>` channels,
 * ids `<prefix>-<n>`), recording the time each SUCCESS was seen.
 */
export async function watchCeleryResults(
  subscriber: Redis,
  idPrefix: string,
  expected: number,
): Promise<CeleryResultWatch> {
  const pattern = `celery-task-meta-${idPrefix}-*`;
  const times = new Float64Array(expected);
  let n = 0;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  const onMessage = (p: string, _channel: string, message: string) => {
    if (p !== pattern || n >= expected || !message.includes('"SUCCESS"')) return;
    times[n++] = nowMs();
    if (n === expected) resolveDone();
  };
  subscriber.on('pmessage', onMessage);
  await subscriber.psubscribe(pattern);
  return {
    async finish(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
      subscriber.off('pmessage', onMessage);
      await subscriber.punsubscribe(pattern).catch(() => {});
      return { times: times.slice(0, n), complete: n === expected };
    },
  };
}
