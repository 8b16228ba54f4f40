import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisResultBackend } from '@celeriac/backend-redis';
import type { Broker } from '@celeriac/core';
import { createTaskMessage } from '@celeriac/core/adapter';
import { freePort, startRedisServer } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPackages } from './build-packages.js';
import { chaosConfig } from './chaos-config.js';
import { readCompletionLog } from './completion-log.js';
import { FinalStates } from './final-states.js';
import { WorkerFleet } from './fleet.js';
import { measure } from './measure.js';
import { type BrokerResult, type DeadLetterCheck, type ScenarioResult, writeResult } from './results.js';
import { type Scenario, scenarios } from './scenarios.js';
import type { ChaosTarget } from './target.js';

const config = chaosConfig;

/** Waits (up to `timeoutMs`) for the queue to hold nothing; resolves with what is left. */
async function drained(target: ChaosTarget, queue: string, timeoutMs: number): Promise<number> {
  let left = Number.NaN;
  await waitFor(
    async () => {
      const held = await target.held(queue).catch(() => undefined);
      left = held ? held.unacked + held.waiting : Number.NaN;
      return left === 0;
    },
    { timeoutMs, intervalMs: 500 },
  ).catch(() => undefined);
  return left;
}

/** What every scenario of one run shares. */
interface RunContext {
  readonly target: ChaosTarget;
  readonly broker: Broker;
  readonly fleet: WorkerFleet;
  readonly finals: FinalStates;
  readonly queue: string;
  /** The workers' start/completion log. */
  readonly log: string;
  /** The `n` of the last task submitted (each task returns its own `n`). */
  n: number;
}

/** Submits a scenario's batch, strikes while it runs, waits for its final states, measures. */
async function runScenario(run: RunContext, scenario: Scenario): Promise<ScenarioResult> {
  const { target, broker, fleet, finals, queue } = run;
  const tasks = new Map<string, number>();
  const [lo, hi] = config.taskMs;
  const messages = Array.from({ length: config.tasksPerScenario }, () => {
    const n = ++run.n;
    const ms = lo + Math.floor(Math.random() * (hi - lo + 1));
    const message = createTaskMessage({ task: 'chaos.work', kwargs: { n, ms } });
    tasks.set(message.headers.id, n);
    return { queue, message };
  });
  const ids = [...tasks.keys()];
  const startedAt = Date.now();
  for (let i = 0; i < messages.length; i += 1_000) await broker.publishMany(messages.slice(i, i + 1_000));
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
    startedAt,
    endedAt,
    stuck,
  };
  return measure(record, readCompletionLog(run.log), finals.seen);
}

/** Plants poison: undecodable bytes and a task no worker implements. Returns how to recognise it. */
async function plantPoison(run: RunContext): Promise<{ marker: string; unknownId: string }> {
  const marker = `chaos-poison-${run.queue}`;
  await run.target.injectRaw(run.queue, `\u0000${marker} {not json`);
  const unknown = createTaskMessage({ task: 'chaos.unknown-task', kwargs: {} });
  await run.broker.publish({ queue: run.queue, message: unknown });
  return { marker, unknownId: unknown.headers.id };
}

/** What the dead-letter place holds at the end, and the state stored for the unknown task. */
async function checkDeadLetters(
  run: RunContext,
  backend: RedisResultBackend,
  poison: { marker: string; unknownId: string },
): Promise<DeadLetterCheck> {
  const read = () => run.broker.readDeadLetters(run.queue, 100);
  await waitFor(async () => (await read()).length >= 2, { timeoutMs: 30_000 }).catch(() => undefined);
  const found = (await read()).map((l) => ({
    code: l.reason.code,
    planted:
      (l.reason.code === 'MESSAGE_UNDECODABLE' && l.raw.includes(poison.marker)) ||
      (l.reason.code === 'TASK_NOT_REGISTERED' && l.raw.includes(poison.unknownId)),
  }));
  const unknownTaskState = (await backend.get(poison.unknownId))?.status ?? null;
  return { planted: ['MESSAGE_UNDECODABLE', 'TASK_NOT_REGISTERED'], found, unknownTaskState };
}

/** The suite's verdict on a run; soft, so every broken promise is listed. */
function expectReliable(result: BrokerResult): boolean {
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
  expect.soft(letters.found.map((f) => f.code).sort(), 'dead letters').toEqual([...letters.planted].sort());
  expect.soft(letters.unknownTaskState, 'state stored for the unknown task').toBe('FAILURE');
  expect.soft(result.stuckAtEnd, 'messages left once every worker stopped').toBe(0);
  return (
    result.stuckAtEnd === 0 && result.scenarios.every((s) => s.lost === 0 && s.failed === 0 && s.stuck === 0)
  );
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
        const startedAt = new Date().toISOString();
        const load = Math.round((loadavg()[0] ?? 0) * 10) / 10;
        // The result backend runs on a redis-server of its own that no fault touches.
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
        let result: BrokerResult | undefined;
        try {
          await fleet.grow(config.workers);
          const run: RunContext = { target, broker: target.openBroker(), fleet, finals, queue, log, n: 0 };
          const poison = await plantPoison(run);
          const results: ScenarioResult[] = [];
          for (const scenario of scenarios) results.push(await runScenario(run, scenario));
          const deadLetters = await checkDeadLetters(run, backend, poison);
          await fleet.close();
          result = {
            broker: options.broker,
            mode: config.mode,
            startedAt,
            machine: { cpus: cpus().length, node: process.version, load },
            config,
            restartHow: target.restartHow,
            scenarios: results,
            deadLetters,
            workers: { ...fleet.counts },
            stuckAtEnd: await drained(target, queue, 30_000),
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
        // Checked after the results are written, so a failed run still reports what it measured.
        const clean = expectReliable(result);
        // A clean run's logs are of no further use (unless asked for); a failed one's stay for diagnosis.
        if (clean && process.env.CELERIAC_CHAOS_KEEP !== '1')
          rmSync(runDir, { recursive: true, force: true });
      },
      config.mode === 'long' ? 4 * 3_600_000 : 600_000,
    );
  });
}
