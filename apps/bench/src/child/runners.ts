import type { KafkaMessage } from 'kafkajs';
import type { ChildSpec } from './protocol.js';

/** What a child needs from a system: prepared (connected) first, started on the parent's signal. */
export interface Runner {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Callbacks a runner reports completions and errors through. */
export interface RunnerSink {
  completed(): void;
  failed(): void;
  error(message: string): void;
}

function redisOptions(url: string): { host: string; port: number; db: number; password?: string } {
  const u = new URL(url);
  const db = Number(u.pathname.replace('/', '') || 0);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    db,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

/** Redis connection options (host/port/db/password) out of a `redis://` URL, for the peers. */
export { redisOptions };

async function celeriacRunner(
  spec: Extract<ChildSpec, { system: 'celeriac' }>,
  sink: RunnerSink,
): Promise<Runner> {
  const { createWorker } = await import('@celeriac/core/worker');
  const { noopImpl, openBackend, openBroker } = await import('../celeriac.js');
  const broker = await openBroker(spec.brokerUrl);
  const backend = spec.backendUrl ? await openBackend(spec.backendUrl) : undefined;
  const worker = createWorker({
    broker,
    ...(backend ? { backend } : {}),
    tasks: [noopImpl],
    queues: [spec.queue],
    concurrency: spec.concurrency,
  });
  worker.on('task-succeeded', () => sink.completed());
  worker.on('task-failed', () => sink.failed());
  worker.on('task-rejected', (e) => {
    sink.failed();
    sink.error(`rejected: ${e.reason.code} ${e.reason.message}`);
  });
  worker.on('worker-error', (e) => sink.error(String((e.error as Error)?.message ?? e.error)));
  return {
    start: () => worker.start(),
    async stop() {
      await worker.stop({ graceMs: 5_000 });
      await Promise.allSettled([broker.close(), backend?.close()]);
    },
  };
}

async function bullmqRunner(
  spec: Extract<ChildSpec, { system: 'bullmq' }>,
  sink: RunnerSink,
): Promise<Runner> {
  const { Worker } = await import('bullmq');
  const worker = new Worker(spec.queue, async (job) => (job.data as { i: number }).i, {
    connection: redisOptions(spec.redisUrl),
    concurrency: spec.concurrency,
    autorun: false,
  });
  worker.on('completed', () => sink.completed());
  worker.on('failed', () => sink.failed());
  worker.on('error', (e) => sink.error(e.message));
  await worker.waitUntilReady();
  return {
    async start() {
      void worker.run().catch((e: unknown) => sink.error(String(e)));
    },
    stop: () => worker.close(),
  };
}

async function beeRunner(
  spec: Extract<ChildSpec, { system: 'bee-queue' }>,
  sink: RunnerSink,
): Promise<Runner> {
  const { default: BeeQueue } = await import('bee-queue');
  const queue = new BeeQueue(spec.queue, { redis: redisOptions(spec.redisUrl), getEvents: false });
  await queue.ready();
  queue.on('succeeded', () => sink.completed());
  queue.on('failed', () => sink.failed());
  queue.on('error', (e: Error) => sink.error(e.message));
  return {
    async start() {
      queue.process(spec.concurrency, async (job: { data: { i: number } }) => job.data.i);
    },
    stop: () => queue.close(5_000),
  };
}

async function amqplibRunner(
  spec: Extract<ChildSpec, { system: 'amqplib' }>,
  sink: RunnerSink,
): Promise<Runner> {
  const amqp = await import('amqplib');
  const connection = await amqp.connect(spec.amqpUrl);
  const channel = await connection.createChannel();
  await channel.checkQueue(spec.queue);
  await channel.prefetch(spec.prefetch);
  let tag: string | undefined;
  return {
    async start() {
      const ok = await channel.consume(spec.queue, (msg) => {
        if (!msg) return;
        channel.ack(msg);
        sink.completed();
      });
      tag = ok.consumerTag;
    },
    async stop() {
      if (tag) await channel.cancel(tag).catch(() => {});
      await connection.close().catch(() => {});
    },
  };
}

/**
 * What any reader of a Celery message on Kafka does at the least: decode and parse the JSON it
 * carries (our envelope header and the body), and nothing else.
 */
function parseRecord(m: KafkaMessage): void {
  for (const value of Object.values(m.headers ?? {})) {
    const text = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
    if (text.startsWith('{')) JSON.parse(text);
  }
  if (m.value) JSON.parse(m.value.toString('utf8'));
}

async function kafkajsRunner(
  spec: Extract<ChildSpec, { system: 'kafkajs' }>,
  sink: RunnerSink,
): Promise<Runner> {
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({
    clientId: 'bench-raw',
    brokers: spec.brokers.split(','),
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: spec.groupId });
  await consumer.connect();
  await consumer.subscribe({ topic: spec.topic, fromBeginning: true });
  return {
    async start() {
      if (spec.mode === 'eachMessage') {
        await consumer.run({ eachMessage: async () => sink.completed() });
      } else {
        const parse = spec.mode === 'eachBatchParse';
        await consumer.run({
          eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
            for (const m of batch.messages) {
              if (parse) parseRecord(m);
              resolveOffset(m.offset);
              sink.completed();
            }
            await heartbeat();
          },
        });
      }
    },
    stop: () => consumer.disconnect(),
  };
}

/** Creates and connects the runner a spec names. */
export function createRunner(spec: ChildSpec, sink: RunnerSink): Promise<Runner> {
  switch (spec.system) {
    case 'celeriac':
      return celeriacRunner(spec, sink);
    case 'bullmq':
      return bullmqRunner(spec, sink);
    case 'bee-queue':
      return beeRunner(spec, sink);
    case 'amqplib':
      return amqplibRunner(spec, sink);
    case 'kafkajs':
      return kafkajsRunner(spec, sink);
  }
}
