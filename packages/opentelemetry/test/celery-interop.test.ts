import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createResultBackend } from '@celeriac/backend-redis';
import { createBroker } from '@celeriac/broker-redis';
import { defineTask } from '@celeriac/core';
import { createClient } from '@celeriac/core/producer';
import { createWorker, implement } from '@celeriac/core/worker';
import { requireCelery, requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { tracePublishes, traceTasks } from '../src/index.js';

const redisUrl = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const here = fileURLToPath(new URL('./interop/', import.meta.url));
const up = await requireService('redis', redisUrl);
const celery = requireCelery();
/** Python Celery's OpenTelemetry instrumentation, where the venv has it. */
const python =
  celery &&
  spawnSync(celery, ['-c', 'import opentelemetry.instrumentation.celery, opentelemetry.sdk']).status === 0
    ? celery
    : '';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
trace.setGlobalTracerProvider(provider);
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

const double = defineTask({ name: 'otel.double', input: z.object({ n: z.number() }), output: z.number() });
const env = { ...process.env, CELERIAC_REDIS_URL: redisUrl };

// scripts/services installs the instrumentation into the Celery venv; under CI its absence fails.
describe.skipIf(!up || (!python && process.env.CI !== 'true'))(
  'traces across TypeScript and Python Celery (opentelemetry-instrumentation-celery), over Redis',
  () => {
    it('a trace started in Python continues in a TypeScript worker', async () => {
      const queue = uniqueName('otel-py-ts');
      const worker = createWorker({
        broker: createBroker(redisUrl),
        backend: createResultBackend(redisUrl),
        queues: [queue],
        interceptors: [traceTasks()],
        tasks: [implement(double, ({ n }) => n * 2)],
      });
      await worker.start();
      closers.push(() => worker.stop({ graceMs: 1_000 }));
      const { stdout } = await promisify(execFile)(python, ['otel_send.py', double.name, queue], {
        cwd: here,
        env,
      });
      const sent = JSON.parse(stdout) as { task_id: string; trace_id: string; publish_span_id: string };
      const run = await waitFor(
        () =>
          exporter
            .getFinishedSpans()
            .find(
              (s) => s.name === 'run/otel.double' && s.attributes['messaging.message_id'] === sent.task_id,
            ),
        { what: 'the TypeScript run span', timeoutMs: 20_000 },
      );
      expect(run.spanContext().traceId).toBe(sent.trace_id);
      expect(run.parentSpanContext?.spanId).toBe(sent.publish_span_id);
    });

    it('a trace started in TypeScript continues in a Python worker', async () => {
      const queue = uniqueName('otel-ts-py');
      const pyWorker: ChildProcess = spawn(
        python,
        [
          '-m',
          'celery',
          '-A',
          'otel_tasks',
          'worker',
          '-Q',
          queue,
          '--pool',
          'solo',
          '-l',
          'warning',
          '-n',
          `${queue}@%h`,
        ],
        { cwd: here, env, stdio: 'ignore' },
      );
      closers.push(async () => {
        pyWorker.kill('SIGTERM');
      });
      const client = createClient({
        broker: createBroker(redisUrl),
        backend: createResultBackend(redisUrl),
        interceptors: [tracePublishes()],
      });
      closers.push(() => client.close());
      const tracer = trace.getTracer('test');
      const handle = await tracer.startActiveSpan('typescript request', async (span) => {
        const h = await client.send('py.trace_context', { kwargs: { n: 3 } }, { queue });
        span.end();
        return h;
      });
      const seen = (await handle.result({ timeoutMs: 30_000 })) as {
        name: string;
        trace_id: string;
        parent_span_id: string;
      };
      const publish = exporter
        .getFinishedSpans()
        .find(
          (s) =>
            s.name === 'apply_async/py.trace_context' && s.attributes['messaging.message_id'] === handle.id,
        );
      expect(seen).toMatchObject({
        name: 'run/py.trace_context',
        trace_id: publish?.spanContext().traceId,
        parent_span_id: publish?.spanContext().spanId,
      });
    });
  },
);
