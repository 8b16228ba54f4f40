import { RabbitMQBroker } from '@celeriac/broker-rabbitmq';
import { probeTcp } from '@celeriac/test-services';
import { waitFor } from '@celeriac/testkit';
import { servicePid, services } from './services.js';
import { adapterRequire, type ChaosTarget } from './target.js';

/** The RabbitMQ the tests talk to (scripts/services up rabbitmq). */
export const AMQP_URL = process.env.CELERIAC_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

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

/**
 * The shared RabbitMQ. Workers use a 2 s AMQP heartbeat, so a frozen broker is noticed within
 * seconds; durable queues and persistent messages (Celery's defaults) survive the restart.
 */
export function rabbitmqTarget(): ChaosTarget {
  const workerUrl = `${AMQP_URL}${AMQP_URL.includes('?') ? '&' : '?'}heartbeat=2`;
  const workerOptions = { url: workerUrl, reconnect: { initialDelayMs: 200, maxDelayMs: 2_000 } };
  const brokers: RabbitMQBroker[] = [];
  const open = () => {
    const b = new RabbitMQBroker({ url: AMQP_URL, publishTimeoutMs: 120_000, connectTimeoutMs: 120_000 });
    brokers.push(b);
    return b;
  };
  const amqp = adapterRequire('broker-rabbitmq')('amqplib') as RawAmqp;
  return {
    name: 'rabbitmq',
    packageName: '@celeriac/broker-rabbitmq',
    workerOptions,
    openBroker: open,
    injectRaw: async (queue, text) => {
      const model = await amqp.connect(AMQP_URL);
      model.on('error', () => {});
      try {
        const ch = await model.createConfirmChannel();
        ch.on('error', () => {});
        ch.sendToQueue(queue, Buffer.from(text, 'utf8'), { persistent: true });
        await ch.waitForConfirms();
      } finally {
        await model.close();
      }
    },
    restartHow: 'rabbitmqctl stop_app, then start_app (durable queues, persistent messages)',
    restart: async () => {
      const port = Number(new URL(AMQP_URL).port || 5672);
      await services(['rabbitmqctl', 'stop_app']);
      await new Promise((r) => setTimeout(r, 1_500));
      // The CLI returns a while after the listener is back: note when connections are accepted.
      const back = waitFor(async () => ((await probeTcp('127.0.0.1', port, 500)) ? Date.now() : undefined), {
        timeoutMs: 120_000,
        intervalMs: 100,
        what: 'RabbitMQ to accept connections again',
      });
      await services(['rabbitmqctl', 'start_app']);
      return await back;
    },
    serverPid: async () => servicePid('rabbitmq/rabbit.pid'),
    pauseMs: 8_000,
    held: async (queue) => {
      const columns = ['name', 'messages_ready', 'messages_unacknowledged'];
      const out = await services(['rabbitmqctl', '-q', 'list_queues', ...columns]);
      for (const line of out.split('\n')) {
        const [name, ready, unacked] = line.trim().split(/\s+/);
        if (name === queue) return { unacked: Number(unacked), waiting: Number(ready) };
      }
      return { unacked: 0, waiting: 0 };
    },
    close: async (queue) => {
      await Promise.allSettled(brokers.map((b) => b.close()));
      const admin = new RabbitMQBroker({ url: AMQP_URL });
      await admin.deleteQueue(queue).catch(() => {});
      await admin.close();
    },
  };
}
