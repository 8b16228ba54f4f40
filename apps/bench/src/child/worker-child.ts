#!/usr/bin/env node
// A worker process of the bench: runs one system's worker, counts completions with their
// timestamps, samples its own memory, and reports to the parent over IPC.
import { nowMs } from '../stats.js';
import {
  CHILD_ENV,
  type ChildMessage,
  type ChildOptions,
  type ParentMessage,
  type RssSample,
} from './protocol.js';
import { createRunner } from './runners.js';

const send = (m: ChildMessage) => process.send?.(m);

async function main(): Promise<void> {
  const options = JSON.parse(process.env[CHILD_ENV] ?? 'null') as ChildOptions | null;
  if (!options) throw new Error(`${CHILD_ENV} is not set`);
  let count = 0;
  let failed = 0;
  let firstAt = 0;
  let lastAt = 0;
  // Chunked so a long run never copies one huge array.
  const chunks: Float64Array[] = [];
  let chunk = new Float64Array(65_536);
  let used = 0;
  const errors: string[] = [];
  const samples: RssSample[] = [];
  const runner = await createRunner(options.spec, {
    completed() {
      const t = nowMs();
      if (count === 0) firstAt = t;
      lastAt = t;
      count++;
      if (!options.recordTimes) return;
      if (used === chunk.length) {
        chunks.push(chunk);
        chunk = new Float64Array(65_536);
        used = 0;
      }
      chunk[used++] = t;
    },
    failed: () => void failed++,
    error: (message) => void (errors.length < 20 && errors.push(message)),
  });
  const sample = () => {
    const m = process.memoryUsage();
    samples.push({ at: nowMs(), rss: m.rss, heapUsed: m.heapUsed, count });
    send({ type: 'progress', count, failed, rss: m.rss });
  };
  let timer: NodeJS.Timeout | undefined;
  let cpuAtStart = process.cpuUsage();
  process.on('message', async (m: ParentMessage) => {
    if (m.type === 'start') {
      cpuAtStart = process.cpuUsage();
      sample();
      timer = setInterval(sample, options.sampleMs);
      await runner.start();
    } else if (m.type === 'stop') {
      // Before stopping: the CPU of the measured run, not of the shutdown.
      const cpu = process.cpuUsage(cpuAtStart);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      clearInterval(timer);
      sample();
      await runner.stop().catch((e: unknown) => errors.push(`stop: ${String(e)}`));
      const times: number[] = [];
      for (const c of [...chunks, chunk.subarray(0, used)]) for (const t of c) times.push(t);
      // Disconnect only once the (possibly large) message is flushed, or it is lost.
      process.send?.(
        {
          type: 'done',
          count,
          failed,
          times,
          firstAt,
          lastAt,
          samples,
          errors,
          cpuMs,
        } satisfies ChildMessage,
        () => {
          process.disconnect?.();
          setTimeout(() => process.exit(0), 200).unref();
        },
      );
    }
  });
  send({ type: 'ready' });
}

main().catch((error: unknown) => {
  send({ type: 'fatal', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  setTimeout(() => process.exit(1), 200);
});
