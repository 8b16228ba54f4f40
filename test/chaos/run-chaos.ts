import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisResultBackend } from '@celeriac/backend-redis';
import { createTaskMessage } from '@celeriac/core/adapter';
import { freePort, startRedisServer } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { chaosConfig } from './chaos-config.js';
import { readCompletionLog } from './completion-log.js';
import { FinalStates } from './final-states.js';
import { WorkerFleet } from './fleet.js';
import { measure } from './measure.js';
import { type BrokerResult, type ScenarioResult, writeResult } from './results.js';
import { scenarios } from './scenarios.js';
import { type ChaosTarget, repoRoot } from './target.js';

const config = chaosConfig;

/** Newest modification time of the files under `dir` (0 if missing). */
function newest(dir: string): number {
  if (!existsSync(dir)) return 0;
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) t = Math.max(t, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return t;
}

/**
 * Builds core, the Redis backend and the adapter: the worker processes run the built packages.
 * Skipped when every build is newer than its sources (the three chaos files run one after another).
 */
function buildPackages(adapter: string): void {
  const packages = ['@celeriac/core', '@celeriac/backend-redis', adapter];
  const dirs = packages.map((p) => join(repoRoot, 'packages', p.replace('@celeriac/', '')));
  if (dirs.every((d) => newest(join(d, 'dist')) > newest(join(d, 'src')))) return;
  try {
    execFileSync('pnpm', [...packages.flatMap((p) => ['--filter', p]), 'build'], {
      cwd: repoRoot,
      stdio: 'inherit',
    });
  } catch (error) {
    // tsc still emits on a type error elsewhere in the tree; go on if the entry points exist.
    if (!dirs.every((d) => existsSync(join(d, 'dist/index.js')))) throw error;
  }
}

/** Sums a target's held and waiting messages. */
async function heldCount(target: ChaosTarget, queue: string): Promise<number> {
  const { unacked, waiting } = await target.held(queue);
  return unacked + waiting;
}

/** Waits (up to `timeoutMs`) for the queue to hold nothing; resolves with what is left. */
async function drained(target: ChaosTarget, queue: string, timeoutMs: number): Promise<number> {
  let left = Number.NaN;
  await waitFor(
    async () => {
      left = await heldCount(target, queue).catch(() => Number.NaN);
      return left === 0;
    },
    { timeoutMs, intervalMs: 500, what: 'the queue to drain' },
  ).catch(() => undefined);
  return left;
}

/** Options of {@link describeChaos}. */
export interface ChaosSuiteOptions {
  readonly broker: ChaosTarget['name'];
  /** The adapter package the workers load. */
  readonly adapter: string;
  /** False skips the suite (locally; under CI=true the service check has thrown already). */
  readonly available: boolean;
  readonly target: () => ChaosTarget | Promise<ChaosTarget>;
}

/**
 * The chaos run on one broker: for each scenario (kill -9 of workers, broker restart with
 * persistence, broker frozen past heartbeat timeouts, mass SIGTERM), a batch of tasks whose
 * handlers log each start and completion, a fault while they run, then the count of tasks with a
 * final state, duplicates, losses and messages left on the broker. Planted poison (undecodable
 * bytes, an unknown task name) must be the only dead letters. Results go to test/chaos/results.
 */
export function describeChaos(options: ChaosSuiteOptions): void {
  describe.skipIf(!options.available)(`chaos on ${options.broker} (${config.mode})`, () => {
    beforeAll(() => buildPackages(options.adapter), 600_000);

    it(
      'brings every task to exactly one final state through kill -9, restart, pause and mass SIGTERM',
      async () => {
        const runDir = mkdtempSync(join(tmpdir(), `celeriac-chaos-${options.broker}-`));
        const backendPort = await freePort();
        const backendServer = await startRedisServer(backendPort, ['--port', String(backendPort)]);
        const backendUrl = `redis://127.0.0.1:${backendPort}`;
        const backend = new RedisResultBackend({ url: backendUrl });
        const target = await options.target();
        const queue = uniqueName(`chaos-${options.broker}`);
        const log = join(runDir, 'completions.log');
        const fleet = new WorkerFleet(
          {
            CHAOS_BROKER: options.broker,
            CHAOS_BROKER_OPTIONS: JSON.stringify(target.workerOptions),
            CHAOS_BACKEND_URL: backendUrl,
            CHAOS_QUEUE: queue,
            CHAOS_LOG: log,
            CHAOS_CONCURRENCY: String(config.concurrency),
          },
          join(runDir, 'workers.stderr'),
        );
        // Long runs track 25,000 tasks at a time: poll less often.
        const finals = new FinalStates(backend, config.mode === 'long' ? 1_000 : 200);
        const results: ScenarioResult[] = [];
        const startedAt = new Date().toISOString();
        const load = Math.round((loadavg()[0] ?? 0) * 10) / 10;
        let result: BrokerResult | undefined;
        try {
          await fleet.grow(config.workers);
          const broker = target.openBroker();

          // Planted poison: undecodable bytes and a task no worker implements.
          const marker = `chaos-poison-${queue}`;
          await target.injectRaw(queue, `\u0000${marker} {not json`);
          const unknown = createTaskMessage({ task: 'chaos.unknown-task', kwargs: {} });
          await broker.publish({ queue, message: unknown });

          let n = 0;
          for (const scenario of scenarios) {
            const tasks = new Map<string, number>();
            const messages = Array.from({ length: config.tasksPerScenario }, () => {
              const [lo, hi] = config.taskMs;
              const message = createTaskMessage({
                task: 'chaos.work',
                kwargs: { n: ++n, ms: lo + Math.floor(Math.random() * (hi - lo + 1)) },
              });
              tasks.set(message.headers.id, n);
              return { queue, message };
            });
            const ids = [...tasks.keys()];
            const scenarioStart = Date.now();
            for (let i = 0; i < messages.length; i += 1_000)
              await broker.publishMany(messages.slice(i, i + 1_000));
            finals.track(ids);
            const windows = await scenario.strike({
              target,
              fleet,
              config,
              // Work that stalls before the fault still gets it, and is then counted as lost.
              progress: (share) =>
                waitFor(() => finals.progress(ids) >= share, {
                  timeoutMs: config.settleTimeoutMs,
                  intervalMs: 100,
                }).then(
                  () => undefined,
                  () => undefined,
                ),
            });
            await finals.settled(ids, config.settleTimeoutMs);
            const endedAt = Date.now();
            const stuck = await drained(target, queue, 30_000);
            const record = {
              scenario: scenario.name,
              fault: scenario.describe(config, target),
              tasks,
              windows,
              startedAt: scenarioStart,
              endedAt,
              stuck,
            };
            results.push(measure(record, readCompletionLog(log), finals.seen));
          }

          // Dead letters: exactly the planted poison.
          await waitFor(async () => (await broker.readDeadLetters(queue, 100)).length >= 2, {
            timeoutMs: 30_000,
            what: 'the planted poison to be dead-lettered',
          }).catch(() => undefined);
          const letters = await broker.readDeadLetters(queue, 100);
          const found = letters.map((l) => ({
            code: l.reason.code,
            planted:
              (l.reason.code === 'MESSAGE_UNDECODABLE' && l.raw.includes(marker)) ||
              (l.reason.code === 'TASK_NOT_REGISTERED' && l.raw.includes(unknown.headers.id)),
          }));
          const unknownTaskState = (await backend.get(unknown.headers.id))?.status ?? null;

          await fleet.close();
          const stuckAtEnd = await drained(target, queue, 30_000);
          result = {
            broker: options.broker,
            mode: config.mode,
            startedAt,
            machine: { cpus: cpus().length, node: process.version, load },
            config,
            restartHow: target.restartHow,
            scenarios: results,
            deadLetters: {
              planted: ['MESSAGE_UNDECODABLE', 'TASK_NOT_REGISTERED'],
              found,
              unknownTaskState,
            },
            workers: { ...fleet.counts },
            stuckAtEnd,
          };
          const file = writeResult(result);
          console.log(`chaos ${options.broker}: results in ${file}; worker logs in ${runDir}`);
        } finally {
          finals.stop();
          await fleet.close().catch(() => {});
          await target.close(queue).catch(() => {});
          await backend.close().catch(() => {});
          await backendServer.stop();
        }

        // Assertions after the results are written, so a failed run still reports what it measured.
        if (!result) throw new Error('the chaos run ended without a result');
        for (const s of result.scenarios) {
          expect.soft(s.lost, `${s.scenario}: tasks without a final state`).toBe(0);
          expect.soft(s.failed, `${s.scenario}: tasks with another final state`).toBe(0);
          expect.soft(s.completed, `${s.scenario}: tasks completed`).toBe(s.submitted);
          expect.soft(s.stuck, `${s.scenario}: messages left unacked or waiting`).toBe(0);
        }
        const letters = result.deadLetters;
        expect
          .soft(
            letters.found.filter((f) => !f.planted),
            'dead letters that were not planted',
          )
          .toEqual([]);
        expect
          .soft(letters.found.map((f) => f.code).sort(), 'dead letters')
          .toEqual([...letters.planted].sort());
        expect.soft(letters.unknownTaskState, 'state stored for the unknown task').toBe('FAILURE');
        expect.soft(result.stuckAtEnd, 'messages left once every worker stopped').toBe(0);
        const clean =
          result.stuckAtEnd === 0 &&
          result.scenarios.every((s) => s.lost === 0 && s.failed === 0 && s.stuck === 0);
        // A clean run's logs are of no further use (unless asked for); a failed one's stay for diagnosis.
        if (clean && process.env.CELERIAC_CHAOS_KEEP !== '1')
          rmSync(runDir, { recursive: true, force: true });
      },
      config.mode === 'long' ? 4 * 3_600_000 : 600_000,
    );
  });
}
