import { KafkaBroker } from '@celeriac/broker-kafka';
import { RabbitMQBroker } from '@celeriac/broker-rabbitmq';
import { RedisBroker } from '@celeriac/broker-redis';
import { type Broker, MemoryBroker } from '@celeriac/core';
import type { Consumer } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { adapterRequire } from '../chaos/target.js';

/** The brokers the bad-input suite runs on, in report order. */
export const BAD_INPUT_BROKERS = ['memory', 'redis', 'rabbitmq', 'kafka'] as const;
export type BadInputBroker = (typeof BAD_INPUT_BROKERS)[number];

/** A message as a foreign producer sends it: Celery headers, a content type, the body as sent. */
export interface ForeignMessage {
  readonly headers: Record<string, unknown>;
  readonly contentType: string;
  /** The body as it goes into the envelope; with `base64`, the envelope says it is base64. */
  readonly body: string;
  readonly base64?: boolean;
}

/** kombu's JSON envelope (Redis lists, and the Kafka layout kombu writes) around a foreign message. */
function kombuEnvelope(queue: string, m: ForeignMessage): string {
  return JSON.stringify({
    body: m.body,
    'content-encoding': 'utf-8',
    'content-type': m.contentType,
    headers: m.headers,
    properties: {
      correlation_id: m.headers.id ?? '',
      reply_to: '',
      delivery_mode: 2,
      delivery_info: { exchange: '', routing_key: queue },
      priority: 0,
      ...(m.base64 ? { body_encoding: 'base64' } : {}),
      delivery_tag: `foreign-${Math.random()}`,
    },
  });
}

/** What the bad-input suite needs of one broker, on the shared test services. */
export interface BadInputTarget {
  readonly name: BadInputBroker;
  /** Whether the service is up (under `CI=true` a missing one fails instead). */
  available(): Promise<boolean>;
  /** A broker on the service (the same instance every time for the in-memory one). */
  open(): Broker;
  /** Makes sure the queue exists, so raw bytes put on it are not dropped. */
  declare(queue: string): Promise<void>;
  /** Puts raw bytes on a queue with the broker's own client library, as a foreign producer would. */
  injectRaw(queue: string, raw: string): Promise<void>;
  /**
   * Puts a message with Celery headers and a content type of its choosing on a queue, in the
   * broker's kombu layout, as a foreign producer would; absent where the layout has no content type.
   */
  injectForeign?(queue: string, message: ForeignMessage): Promise<void>;
  /** Ends a consumer as a killed process would: nothing returned, recovery brings it back. */
  crash(broker: Broker, consumer: Consumer): Promise<void>;
  /** Whether {@link crash} recovers within a second or two (Kafka waits for a group rebalance). */
  readonly quickCrash: boolean;
  /** Messages of `queue` held by a consumer, as the broker stores them (0 where the broker returns them itself). */
  held(queue: string): Promise<number>;
  /** A queue name the broker must refuse, with what it collides with; none where every name is fine. */
  readonly reservedQueue?: { readonly name: string; readonly why: string };
  /** Closes what the target opened. */
  close(): Promise<void>;
}

const REDIS_URL = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const AMQP_URL = process.env.CELERIAC_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const KAFKA_BROKERS = (process.env.CELERIAC_KAFKA_BROKERS ?? '127.0.0.1:9092')
  .split(',')
  .map((b) => b.trim());

function memoryTarget(): BadInputTarget {
  const broker = new MemoryBroker();
  return {
    name: 'memory',
    available: async () => true,
    open: () => broker,
    declare: async () => {},
    injectRaw: async (queue, raw) => broker.injectRaw(queue, raw),
    crash: (_broker, consumer) => consumer.close(),
    quickCrash: true,
    held: async () => 0,
    close: () => broker.close(),
  };
}

/** The little of ioredis this file uses. */
interface RawRedis {
  lpush(key: string, value: string): Promise<number>;
  hvals(key: string): Promise<string[]>;
  disconnect(): void;
}

function redisTarget(): BadInputTarget {
  const { Redis } = adapterRequire('broker-redis')('ioredis') as { Redis: new (url: string) => RawRedis };
  let raw: RawRedis | undefined;
  const client = () => {
    raw ??= new Redis(REDIS_URL);
    return raw;
  };
  const brokers: RedisBroker[] = [];
  return {
    name: 'redis',
    available: () => requireService('redis', REDIS_URL),
    open: () => {
      // Short timings, so a crashed consumer's messages come back within two seconds.
      const b = new RedisBroker({
        url: REDIS_URL,
        heartbeatIntervalMs: 250,
        consumerTimeoutMs: 1_500,
        sweepIntervalMs: 300,
        pollFallbackMs: 200,
      });
      brokers.push(b);
      return b;
    },
    declare: async () => {},
    injectRaw: async (queue, text) => void (await client().lpush(queue, text)),
    injectForeign: async (queue, m) => void (await client().lpush(queue, kombuEnvelope(queue, m))),
    crash: (broker) => (broker as RedisBroker).destroy(),
    quickCrash: true,
    // kombu's `unacked` holds `[envelope, exchange, queue]`; ours `<step>:<length>:<queue><raw>`.
    held: async (queue) => {
      const [kombu, ours] = await Promise.all([
        client().hvals('unacked'),
        client().hvals('_celeriac.unacked_raw'),
      ]);
      const tail = `, "", ${JSON.stringify(queue)}]`;
      return (
        kombu.filter((v) => v.endsWith(tail)).length +
        ours.filter((v) => v.includes(`:${queue.length}:${queue}`)).length
      );
    },
    reservedQueue: { name: 'unacked', why: 'kombu’s own `unacked` hash' },
    close: async () => {
      await Promise.allSettled(brokers.splice(0).map((b) => b.close()));
      raw?.disconnect();
    },
  };
}

/** The little of amqplib this file uses. */
interface RawAmqp {
  connect(url: string): Promise<{
    on(event: 'error', listener: () => void): void;
    createConfirmChannel(): Promise<{
      on(event: 'error', listener: () => void): void;
      sendToQueue(queue: string, content: Buffer, options: Record<string, unknown>): boolean;
      waitForConfirms(): Promise<void>;
    }>;
    close(): Promise<void>;
  }>;
}

function rabbitmqTarget(): BadInputTarget {
  const amqp = adapterRequire('broker-rabbitmq')('amqplib') as RawAmqp;
  const brokers: RabbitMQBroker[] = [];
  const queues = new Set<string>();
  const sendAmqp = async (queue: string, text: string, options: Record<string, unknown>) => {
    const model = await amqp.connect(AMQP_URL);
    model.on('error', () => {});
    try {
      const ch = await model.createConfirmChannel();
      ch.on('error', () => {});
      ch.sendToQueue(queue, Buffer.from(text, 'utf8'), options);
      await ch.waitForConfirms();
    } finally {
      await model.close();
    }
  };
  const open = () => {
    const b = new RabbitMQBroker({ url: AMQP_URL });
    brokers.push(b);
    return b;
  };
  return {
    name: 'rabbitmq',
    available: () => requireService('rabbitmq', AMQP_URL),
    open,
    declare: async (queue) => {
      queues.add(queue);
      // Consuming declares the queue as the adapter does (Celery's topology).
      const b = open();
      const consumer = await b.consume({ queues: [queue], prefetch: 1, onDelivery: (d) => void d.requeue() });
      await consumer.close();
    },
    injectRaw: (queue, text) => sendAmqp(queue, text, { persistent: true }),
    // AMQP carries headers and content type as properties, the body as raw bytes (never base64).
    injectForeign: (queue, m) =>
      sendAmqp(queue, m.body, {
        persistent: true,
        headers: m.headers,
        contentType: m.contentType,
        contentEncoding: 'utf-8',
        correlationId: String(m.headers.id ?? ''),
      }),
    crash: async (broker) => (broker as RabbitMQBroker).destroy(),
    quickCrash: true,
    // RabbitMQ itself returns what a closed or dropped channel held.
    held: async () => 0,
    reservedQueue: { name: 'amq.celeriac', why: 'the `amq.` prefix RabbitMQ reserves' },
    close: async () => {
      await Promise.allSettled(brokers.splice(0).map((b) => b.close()));
      const admin = new RabbitMQBroker({ url: AMQP_URL });
      for (const q of queues) await admin.deleteQueue(q).catch(() => {});
      await admin.close();
    },
  };
}

function kafkaTarget(): BadInputTarget {
  const brokers: KafkaBroker[] = [];
  let injector: KafkaBroker | undefined;
  const open = () => {
    // The broker's shortest session timeout, so a crashed member's partitions move within seconds.
    const b = new KafkaBroker({
      brokers: KAFKA_BROKERS,
      partitions: 1,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 1_000,
      revokeTimeoutMs: 3_000,
    });
    brokers.push(b);
    return b;
  };
  return {
    name: 'kafka',
    available: () => requireService('kafka', `kafka://${KAFKA_BROKERS.join(',')}`),
    open,
    declare: async (queue) => {
      injector ??= open();
      await injector.declareQueue(queue);
    },
    injectRaw: async (queue, raw) => {
      injector ??= open();
      await injector.injectRaw(queue, raw);
    },
    // A record whose value is kombu's JSON envelope, as kombu's Kafka transport writes it.
    injectForeign: async (queue, m) => {
      injector ??= open();
      await injector.injectRaw(queue, kombuEnvelope(queue, m));
    },
    crash: (broker) => (broker as KafkaBroker).simulateCrash(),
    quickCrash: false,
    // Kafka holds nothing: uncommitted records are read again by the group's next member.
    held: async () => 0,
    close: async () => {
      injector = undefined;
      await Promise.allSettled(brokers.splice(0).map((b) => b.close()));
    },
  };
}

/** A fresh target for `name`. */
export function badInputTarget(name: BadInputBroker): BadInputTarget {
  switch (name) {
    case 'memory':
      return memoryTarget();
    case 'redis':
      return redisTarget();
    case 'rabbitmq':
      return rabbitmqTarget();
    case 'kafka':
      return kafkaTarget();
  }
}
