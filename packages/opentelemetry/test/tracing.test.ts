import { createResultBackend } from '@celeriac/backend-redis';
import { createBroker as kafkaBroker } from '@celeriac/broker-kafka';
import { createBroker as rabbitBroker } from '@celeriac/broker-rabbitmq';
import { createBroker as redisBroker } from '@celeriac/broker-redis';
import {
  type Broker,
  defineTask,
  MemoryBroker,
  MemoryResultBackend,
  type ResultBackend,
} from '@celeriac/core';
import { createClient, signature } from '@celeriac/core/producer';
import { createWorker, implement } from '@celeriac/core/worker';
import { requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ATTRIBUTES, tracePublishes, traceTasks } from '../src/index.js';

// What an application's SDK setup does: a provider with an exporter, a context manager, W3C propagation.
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
trace.setGlobalTracerProvider(provider);
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});
beforeEach(() => exporter.reset());

const tracer = trace.getTracer('test');
const double = defineTask({ name: 'otel.double', input: z.object({ n: z.number() }), output: z.number() });
const fail = defineTask({ name: 'otel.fail', input: z.object({}), output: z.null() });

const redis = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const amqp = process.env.CELERIAC_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const kafka = `kafka://${process.env.CELERIAC_KAFKA_BROKERS ?? '127.0.0.1:9092'}`;
/** A broker and backend for each side; the memory pair is shared, since it lives in one process. */
type Sides = () => { producer: Connection; consumer: Connection };
type Connection = { broker: Broker; backend: ResultBackend };
const twice =
  (make: () => Connection): Sides =>
  () => ({ producer: make(), consumer: make() });
const inMemory: Sides = () => {
  const one = { broker: new MemoryBroker(), backend: new MemoryResultBackend() };
  return { producer: one, consumer: one };
};
const brokers: { name: string; up: boolean; sides: Sides }[] = [
  { name: 'memory', up: true, sides: inMemory },
  {
    name: 'redis',
    up: await requireService('redis', redis),
    sides: twice(() => ({ broker: redisBroker(redis), backend: createResultBackend(redis) })),
  },
  {
    name: 'rabbitmq',
    up: (await requireService('rabbitmq', amqp)) && (await requireService('redis', redis)),
    sides: twice(() => ({ broker: rabbitBroker(amqp), backend: createResultBackend(redis) })),
  },
  {
    name: 'kafka',
    up: (await requireService('kafka', kafka)) && (await requireService('redis', redis)),
    sides: twice(() => ({ broker: kafkaBroker(kafka), backend: createResultBackend(redis) })),
  },
];

/** A client and a worker on one queue, both traced; closed after `body`. */
async function traced<T>(
  sides: Sides,
  body: (c: ReturnType<typeof createClient>, queue: string) => Promise<T>,
): Promise<T> {
  const queue = uniqueName('otel');
  const { producer, consumer } = sides();
  const worker = createWorker({
    ...consumer,
    queues: [queue],
    interceptors: [traceTasks()],
    tasks: [
      implement(double, ({ n }) =>
        tracer.startActiveSpan('inside the handler', (span) => {
          span.end();
          return n * 2;
        }),
      ),
      implement(fail, () => {
        throw new Error('no luck');
      }),
    ],
  });
  await worker.start();
  const client = createClient({ ...producer, defaultQueue: queue, interceptors: [tracePublishes()] });
  try {
    return await body(client, queue);
  } finally {
    await worker.stop({ graceMs: 1_000 });
    await client.close();
    if (consumer !== producer) {
      await consumer.broker.close();
      await consumer.backend.close();
    }
  }
}

const named = (name: string) => (s: ReadableSpan) => s.name === name;
const parentOf = (span: ReadableSpan | undefined) => span?.parentSpanContext?.spanId;

describe.each(brokers)('a trace across producer and worker on $name', ({ sides, up }) => {
  it.skipIf(!up)('links the publish span, the run span and the handler’s own spans', async () => {
    const request = await traced(sides, async (client, queue) =>
      tracer.startActiveSpan('request', async (span) => {
        const handle = await client.enqueue(double, { n: 21 });
        expect(await handle.result({ timeoutMs: 20_000 })).toBe(42);
        span.end();
        return { span, id: handle.id, queue };
      }),
    );
    const spans = await waitFor(
      () => {
        const all = exporter.getFinishedSpans();
        return all.some(named('inside the handler')) && all.some(named('run/otel.double')) ? all : undefined;
      },
      { what: 'the spans' },
    );
    const publish = spans.find(named('apply_async/otel.double'));
    const run = spans.find(named('run/otel.double'));
    const inner = spans.find(named('inside the handler'));
    const traceId = request.span.spanContext().traceId;
    expect([publish, run, inner].map((s) => s?.spanContext().traceId)).toEqual([traceId, traceId, traceId]);
    expect(parentOf(publish)).toBe(request.span.spanContext().spanId);
    expect(parentOf(run)).toBe(publish?.spanContext().spanId);
    expect(parentOf(inner)).toBe(run?.spanContext().spanId);
    expect(publish?.kind).toBe(SpanKind.PRODUCER);
    expect(run?.kind).toBe(SpanKind.CONSUMER);
    expect(publish?.attributes).toMatchObject({
      [ATTRIBUTES.action]: 'apply_async',
      [ATTRIBUTES.taskName]: 'otel.double',
      [ATTRIBUTES.messageId]: request.id,
      [ATTRIBUTES.destination]: request.queue,
    });
    expect(run?.attributes).toMatchObject({
      [ATTRIBUTES.action]: 'run',
      [ATTRIBUTES.taskName]: 'otel.double',
      [ATTRIBUTES.messageId]: request.id,
      [ATTRIBUTES.state]: 'SUCCESS',
      [ATTRIBUTES.retries]: 0,
    });
  });
});

describe('tracing on the memory broker', () => {
  it('puts a W3C traceparent in the message headers, where Python Celery’s instrumentation reads it', async () => {
    const broker = new MemoryBroker();
    const headers: Record<string, unknown>[] = [];
    const recording = {
      ...broker,
      publish: async (m: Parameters<Broker['publish']>[0]) => void headers.push(m.message.headers),
      publishMany: async () => {},
    } as unknown as Broker;
    const client = createClient({ broker: recording, interceptors: [tracePublishes()] });
    await client.enqueue(double, { n: 1 });
    const publish = exporter.getFinishedSpans().find(named('apply_async/otel.double'));
    const { traceId, spanId } = publish?.spanContext() ?? {};
    expect(headers[0]?.traceparent).toBe(`00-${traceId}-${spanId}-01`);
  });

  it('marks a failed run as an error, with the exception', async () => {
    await traced(inMemory, async (client) => {
      await expect((await client.enqueue(fail, {})).result({ timeoutMs: 5_000 })).rejects.toThrow();
    });
    const run = exporter.getFinishedSpans().find(named('run/otel.fail'));
    expect(run?.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'no luck' });
    expect(run?.events.map((e) => e.name)).toEqual(['exception']);
  });

  it('continues the trace through a chain: the next step is published under the run of the one before', async () => {
    await traced(inMemory, async (client, queue) => {
      const handle = await client.chain([
        signature(double, { n: 1 }, { queue }),
        signature(double, { n: 5 }, { queue, immutable: true }),
      ]);
      expect(await handle.result({ timeoutMs: 5_000 })).toBe(10);
    });
    const spans = exporter.getFinishedSpans();
    const runs = spans.filter(named('run/otel.double'));
    const publishes = spans.filter(named('apply_async/otel.double'));
    expect(runs).toHaveLength(2);
    expect(publishes).toHaveLength(2);
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
    // client publish → run 1 → worker publish of step 2 → run 2
    const [first, second] = publishes.sort((a, b) => (parentOf(a) ? 1 : 0) - (parentOf(b) ? 1 : 0));
    const runOf = (p: ReadableSpan | undefined) => runs.find((r) => parentOf(r) === p?.spanContext().spanId);
    expect(parentOf(second)).toBe(runOf(first)?.spanContext().spanId);
    expect(runOf(second)).toBeDefined();
  });
});
