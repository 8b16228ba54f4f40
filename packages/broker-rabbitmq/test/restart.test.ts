import { BrokerError, type CeleriacError } from '@celeriac/core';
import { createTaskMessage } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { sleep, uniqueName, waitFor } from '@celeriac/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { AMQP_URL, BrokerFactory, services } from './support.js';

const up = await requireService('rabbitmq', AMQP_URL);

describe.skipIf(!up)('rabbitmq restarted mid-run (rabbitmqctl stop_app / start_app)', () => {
  const brokers = new BrokerFactory({ publishTimeoutMs: 60_000 });
  afterAll(async () => {
    // Whatever happened, leave RabbitMQ running for the next test file.
    await services('up', 'rabbitmq').catch(() => {});
    await brokers.cleanup();
  });

  it('loses nothing: publishes wait for the connection, the consumer resumes, unacked work comes back', async () => {
    const producer = brokers.create();
    const consumerBroker = brokers.create();
    const queue = uniqueName('restart');
    const received = new Map<string, number>();
    const consumerErrors: CeleriacError[] = [];
    await consumerBroker.consume({
      queues: [queue],
      prefetch: 20,
      onError: (e) => consumerErrors.push(e),
      onDelivery: (d) => {
        const id = d.kind === 'task' ? d.message.headers.id : d.raw;
        received.set(id, (received.get(id) ?? 0) + 1);
        // Slow acks, so some deliveries are in flight when the broker goes away.
        setTimeout(() => void d.ack(), 20);
      },
    });

    const sent: string[] = [];
    const publishes: Promise<void>[] = [];
    let publishing = true;
    const producerLoop = (async () => {
      while (publishing) {
        const message = createTaskMessage({ task: 'tasks.tick', kwargs: { n: sent.length } });
        sent.push(message.headers.id);
        publishes.push(producer.publish({ queue, message }));
        await sleep(10);
      }
    })();

    await waitFor(() => received.size >= 50, { timeoutMs: 15_000, what: '50 deliveries before the restart' });
    await services('rabbitmqctl', 'stop_app');
    const stoppedAt = sent.length;
    await sleep(1_500);
    await services('rabbitmqctl', 'start_app');
    await waitFor(() => received.size > stoppedAt + 20, {
      timeoutMs: 30_000,
      what: 'deliveries after the restart',
    });
    publishing = false;
    await producerLoop;

    const outcomes = await Promise.allSettled(publishes);
    const failed = outcomes.flatMap((o, i) =>
      o.status === 'rejected' ? [{ id: sent[i], error: o.reason }] : [],
    );
    // A publish may only fail loudly, with a retriable BrokerError; with a 60 s bound none should.
    for (const f of failed) {
      expect(f.error).toBeInstanceOf(BrokerError);
      expect((f.error as BrokerError).retriable).toBe(true);
    }
    const confirmed = sent.filter((_, i) => outcomes[i]?.status === 'fulfilled');
    expect(confirmed.length).toBeGreaterThan(stoppedAt);
    await waitFor(() => confirmed.every((id) => received.has(id)), {
      timeoutMs: 30_000,
      what: 'every confirmed message to be delivered',
    });
    // The consumer noticed the outage and came back by itself.
    expect(consumerErrors.some((e) => e instanceof BrokerError && e.retriable)).toBe(true);
    // At-least-once: one restart can repeat a message, never more than this. A message unacked at
    // the restart comes again (2); if its publish was also unconfirmed, the re-sent copy adds one (3).
    expect(Math.max(...received.values())).toBeLessThanOrEqual(3);
  }, 120_000);
});
