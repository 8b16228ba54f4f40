import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nowMs } from '../stats.js';
import {
  CHILD_ENV,
  type ChildMessage,
  type ChildOptions,
  type ChildSpec,
  type RssSample,
} from './protocol.js';

/** How to run a group of worker processes. */
export interface WorkerGroupOptions {
  readonly spec: ChildSpec;
  readonly processes: number;
  /** Stop once this many completions were reported (summed over processes). */
  readonly expected: number;
  /** Give up after this long (the result then says how many completed). */
  readonly timeoutMs: number;
  readonly recordTimes?: boolean;
  readonly sampleMs?: number;
  /** Called with the summed count on every progress report. */
  readonly onProgress?: (count: number) => void;
  /** Called right after the start signal went to every process (e.g. to begin producing). */
  readonly onStarted?: () => void;
  /** Extra node flags for the children (e.g. `--cpu-prof`). */
  readonly execArgv?: readonly string[];
}

/** What a group of worker processes did. */
export interface WorkerGroupResult {
  /** When the processes were told to start (epoch ms). */
  readonly startedAt: number;
  readonly count: number;
  readonly failed: number;
  /** Every completion timestamp, ascending (empty when not recorded). */
  readonly times: Float64Array;
  readonly firstAt: number;
  readonly lastAt: number;
  /** Memory samples per process. */
  readonly samples: RssSample[][];
  readonly errors: string[];
  readonly timedOut: boolean;
  /** CPU time of every process from the start signal to the stop signal, ms. */
  readonly cpuMs: number[];
}

const CHILD_SCRIPT = fileURLToPath(new URL('./worker-child.js', import.meta.url));

interface Child {
  readonly proc: ChildProcess;
  count: number;
  failed: number;
  done?: Extract<ChildMessage, { type: 'done' }>;
}

function waitFor(
  children: Child[],
  what: (c: Child) => boolean,
  ms: number,
  label: string,
  failure: () => string | undefined = () => undefined,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = setInterval(() => {
      const failed = failure();
      if (failed) {
        clearInterval(tick);
        reject(new Error(failed));
      } else if (children.every(what)) {
        clearInterval(tick);
        resolve();
      } else if (Date.now() - started > ms) {
        clearInterval(tick);
        reject(new Error(`worker processes: ${label} not reached within ${ms} ms`));
      }
    }, 10);
  });
}

/**
 * Forks `processes` worker children of the built bench, waits until all are connected, starts
 * them at the same moment, and stops them once `expected` completions were reported.
 */
export async function runWorkerGroup(options: WorkerGroupOptions): Promise<WorkerGroupResult> {
  const childOptions: ChildOptions = {
    spec: options.spec,
    recordTimes: options.recordTimes ?? true,
    sampleMs: options.sampleMs ?? 250,
  };
  const children: Child[] = [];
  const fatal: string[] = [];
  const ready = new Set<Child>();
  let total = 0;
  for (let i = 0; i < options.processes; i++) {
    const proc = fork(CHILD_SCRIPT, [], {
      env: { ...process.env, [CHILD_ENV]: JSON.stringify(childOptions) },
      execArgv: [...(options.execArgv ?? [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const child: Child = { proc, count: 0, failed: 0 };
    proc.on('message', (m: ChildMessage) => {
      if (m.type === 'ready') ready.add(child);
      else if (m.type === 'progress') {
        child.count = m.count;
        child.failed = m.failed;
        total = children.reduce((s, c) => s + c.count, 0);
        options.onProgress?.(total);
      } else if (m.type === 'done') child.done = m;
      else if (m.type === 'fatal') fatal.push(m.error);
    });
    proc.on('exit', (code) => {
      if (!child.done && code !== 0) fatal.push(`worker process exited with code ${code}`);
    });
    children.push(child);
  }
  const killAll = () => {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
  };
  try {
    await waitFor(
      children,
      (c) => ready.has(c),
      60_000,
      'ready',
      () => fatal[0],
    );
  } catch (error) {
    killAll();
    throw error;
  }
  const startedAt = nowMs();
  for (const c of children) c.proc.send({ type: 'start' });
  options.onStarted?.();
  let timedOut = false;
  await waitFor(
    children,
    () => total >= options.expected || fatal.length > 0,
    options.timeoutMs,
    'expected count',
  ).catch(() => {
    timedOut = true;
  });
  for (const c of children) if (c.proc.connected) c.proc.send({ type: 'stop' });
  await waitFor(children, (c) => c.done !== undefined || c.proc.exitCode !== null, 30_000, 'stopped').catch(
    () => {},
  );
  // Let them exit by themselves (a CPU profile is written at exit), then make sure.
  await waitFor(
    children,
    (c) => c.proc.exitCode !== null || c.proc.signalCode !== null,
    10_000,
    'exited',
  ).catch(() => {});
  killAll();
  if (fatal.length && children.every((c) => !c.done)) throw new Error(fatal[0]);
  const done = children.map((c) => c.done).filter((d) => d !== undefined);
  const all = new Float64Array(done.reduce((s, d) => s + d.times.length, 0));
  let k = 0;
  for (const d of done) for (const t of d.times) all[k++] = t;
  all.sort();
  return {
    startedAt,
    count: done.reduce((s, d) => s + d.count, 0),
    failed: done.reduce((s, d) => s + d.failed, 0),
    times: all,
    firstAt: Math.min(...done.map((d) => d.firstAt || Number.POSITIVE_INFINITY)),
    lastAt: Math.max(...done.map((d) => d.lastAt)),
    samples: done.map((d) => d.samples),
    errors: [...fatal, ...done.flatMap((d) => d.errors)],
    timedOut,
    cpuMs: done.map((d) => d.cpuMs),
  };
}
