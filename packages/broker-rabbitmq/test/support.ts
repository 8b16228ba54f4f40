import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Broker } from '@celeriac/core';
import type { ConsumeOptions, Consumer, OutgoingMessage } from '@celeriac/core/adapter';
import { type ChannelModel, connect } from 'amqplib';
import { RabbitMQBroker } from '../src/broker.js';
import type { RabbitMQBrokerOptions } from '../src/options.js';

const run = promisify(execFile);

/** The RabbitMQ the tests talk to (scripts/services up rabbitmq). */
export const AMQP_URL = process.env.CELERIAC_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/**
 * Makes brokers for a test file and remembers every queue they touch, so `cleanup()` can delete
 * the queues with their delay chains and dead-letter queues (tests use a fresh name each time).
 */
export class BrokerFactory {
  private readonly queues = new Set<string>();
  private readonly brokers: RabbitMQBroker[] = [];

  constructor(private readonly options: RabbitMQBrokerOptions = {}) {}

  /** A broker instance whose queue names are recorded. */
  create(extra: RabbitMQBrokerOptions = {}): RabbitMQBroker {
    const broker = new RabbitMQBroker({ url: AMQP_URL, ...this.options, ...extra });
    this.brokers.push(broker);
    const remember = (queue: string) => this.queues.add(queue);
    const publish = broker.publish.bind(broker);
    const publishMany = broker.publishMany.bind(broker);
    const consume = broker.consume.bind(broker);
    broker.publish = (item: OutgoingMessage) => {
      remember(item.queue);
      return publish(item);
    };
    broker.publishMany = (items: readonly OutgoingMessage[]) => {
      for (const item of items) remember(item.queue);
      return publishMany(items);
    };
    broker.consume = (options: ConsumeOptions): Promise<Consumer> => {
      for (const queue of options.queues) remember(queue);
      return consume(options);
    };
    return broker;
  }

  /** Records a queue created some other way. */
  track(queue: string): string {
    this.queues.add(queue);
    return queue;
  }

  /** Closes every broker made here and deletes every queue they used. */
  async cleanup(): Promise<void> {
    await Promise.allSettled(this.brokers.splice(0).map((b) => b.close()));
    if (this.queues.size === 0) return;
    const admin = new RabbitMQBroker({ url: AMQP_URL });
    try {
      // Names a test used to provoke a refusal are refused again here; skip them.
      for (const queue of this.queues) await admin.deleteQueue(queue).catch(() => {});
      this.queues.clear();
    } finally {
      await admin.close();
    }
  }
}

/** A plain amqplib connection, to act as a foreign client (Python Celery, another tool). */
export async function rawConnection(): Promise<ChannelModel> {
  const model = await connect(AMQP_URL);
  model.on('error', () => {});
  return model;
}

/** Puts raw bytes on a queue with basic.publish, as a foreign producer would. */
export async function injectRaw(
  queue: string,
  raw: string | Buffer,
  options: Record<string, unknown> = {},
): Promise<void> {
  const model = await rawConnection();
  try {
    const ch = await model.createConfirmChannel();
    ch.on('error', () => {});
    ch.sendToQueue(queue, Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8'), options);
    await ch.waitForConfirms();
  } finally {
    await model.close();
  }
}

/** Kills a broker the way a crash would (see {@link RabbitMQBroker.destroy}). */
export async function simulateCrash(broker: Broker): Promise<void> {
  (broker as RabbitMQBroker).destroy();
}

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs `scripts/services <args>` (e.g. `rabbitmqctl stop_app`) and resolves with its output. */
export async function services(...args: string[]): Promise<string> {
  const { stdout } = await run(`${REPO_ROOT}scripts/services`, args, { cwd: REPO_ROOT, timeout: 120_000 });
  return stdout;
}

/** Builds the core and this package, so a child process can import the published entry point. */
export async function buildDist(): Promise<string> {
  const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
  try {
    await run('pnpm', ['--filter', '@celeriac/core', '--filter', '@celeriac/broker-rabbitmq', 'build'], {
      cwd: REPO_ROOT,
      timeout: 120_000,
    });
  } catch (error) {
    // tsc still emits on type errors elsewhere in the tree; go on if both entry points exist.
    const core = fileURLToPath(new URL('../../core/dist/index.js', import.meta.url));
    const ok = await Promise.all([access(entry), access(core)]).then(
      () => true,
      () => false,
    );
    if (!ok) throw error;
  }
  return entry;
}
