import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { sleep, uniqueName, waitFor } from '@celeriac/testkit';
import type { Channel } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import { AMQP_URL, BrokerFactory, rawConnection } from './support.js';

const up = await requireService('rabbitmq', AMQP_URL);

/** The ids of `count` fresh tasks published to `queue`, in order. */
async function publish(broker: ReturnType<BrokerFactory['create']>, queue: string, count: number) {
  const messages = Array.from({ length: count }, (_, i) => createTaskMessage({ task: 't', kwargs: { i } }));
  await broker.publishMany(messages.map((message) => ({ queue, message })));
  return messages.map((m) => m.headers.id);
}

const idOf = (d: Delivery) => (d.kind === 'task' ? d.message.headers.id : '');

/** Consumes `queue`, keeping every delivery (acked at once when `ack`) in `got`. */
async function collect(
  broker: ReturnType<BrokerFactory['create']>,
  queue: string,
  prefetch: number,
  ack = false,
) {
  const got: Delivery[] = [];
  const consumer = await broker.consume({
    queues: [queue],
    prefetch,
    onDelivery: (d) => {
      got.push(d);
      if (ack) void d.ack();
    },
  });
  return { got, consumer };
}

describe.skipIf(!up)('rabbitmq: acks of one turn', () => {
  const brokers = new BrokerFactory();
  let ack: MockInstance<Channel['ack']>;

  beforeAll(async () => {
    // A spy on amqplib's own channel class (it calls through): it counts ack frames.
    const model = await rawConnection();
    const channel = await model.createChannel();
    ack = vi.spyOn(Object.getPrototypeOf(channel) as Channel, 'ack');
    await model.close();
  });
  afterEach(() => ack.mockClear());
  afterAll(async () => {
    ack.mockRestore();
    await brokers.cleanup();
  });

  it('go out as one basic.ack with multiple set when they cover every open delivery', async () => {
    const broker = brokers.create();
    const queue = uniqueName('ack-batch');
    await publish(broker, queue, 20);
    const { got, consumer } = await collect(broker, queue, 20);
    await waitFor(() => got.length === 20, { what: '20 deliveries' });
    ack.mockClear();
    await Promise.all(got.map((d) => d.ack()));
    expect(ack).toHaveBeenCalledTimes(1);
    expect(ack.mock.calls[0]?.[1]).toBe(true);
    await consumer.close();
    // Every one was acknowledged: nothing comes back to a new consumer.
    const { got: again, consumer: second } = await collect(broker, queue, 20);
    await sleep(500);
    expect(again).toHaveLength(0);
    await second.close();
  });

  it('never cover a delivery still running: it comes back when the consumer closes', async () => {
    const broker = brokers.create();
    const queue = uniqueName('ack-gap');
    const ids = await publish(broker, queue, 6);
    const { got, consumer } = await collect(broker, queue, 10);
    await waitFor(() => got.length === 6, { what: '6 deliveries' });
    ack.mockClear();
    // The third is still running; the others finish in the same turn.
    await Promise.all(got.filter((_, i) => i !== 2).map((d) => d.ack()));
    // One frame for the two before it (multiple), then one each for the three after it.
    expect(ack.mock.calls.map((c) => c[1])).toEqual([true, false, false, false]);
    await consumer.close();
    const { got: again, consumer: second } = await collect(broker, queue, 10, true);
    await waitFor(() => again.length === 1, { what: 'the unacknowledged delivery again' });
    await sleep(500);
    expect(again.map(idOf)).toEqual([ids[2]]);
    await second.close();
  });

  it('leave a nacked delivery out of a later multiple ack', async () => {
    const broker = brokers.create();
    const queue = uniqueName('ack-nack');
    const ids = await publish(broker, queue, 4);
    const { got, consumer } = await collect(broker, queue, 10);
    await waitFor(() => got.length === 4, { what: '4 deliveries' });
    const [first, second, third, fourth] = got as [Delivery, Delivery, Delivery, Delivery];
    // The second goes back to the queue at once; the acks of the others then cover the gap it left.
    await second.requeue();
    ack.mockClear();
    await Promise.all([first.ack(), third.ack(), fourth.ack()]);
    expect(ack.mock.calls.map((c) => c[1])).toEqual([true]);
    const back = await waitFor(() => got[4], { what: 'the requeued delivery' });
    expect(idOf(back)).toBe(ids[1]);
    await back.ack();
    await consumer.close();
  });
});
