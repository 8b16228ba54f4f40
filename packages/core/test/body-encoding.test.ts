import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { Broker, OutgoingMessage } from '../src/broker.js';
import { defineTask } from '../src/contract.js';
import { encodeJson } from '../src/json-codec.js';
import { createClient, signature } from '../src/producer/index.js';
import { encodeBody } from '../src/wire.js';
import { RecordingBroker } from './recording-broker.js';

const job = defineTask({
  name: 'unit.job',
  input: z.object({ x: z.number(), when: z.date().optional(), tags: z.array(z.string()).optional() }),
  output: z.number(),
});

/** A broker that encodes each body as it is published (as the Redis, RabbitMQ and Kafka adapters do). */
class EncodingBroker extends RecordingBroker {
  readonly bodies: string[] = [];
  override publish(message: OutgoingMessage): Promise<void> {
    this.bodies.push(encodeBody(message.message));
    return super.publish(message);
  }
  override publishMany(messages: readonly OutgoingMessage[]): Promise<void> {
    for (const m of messages) this.bodies.push(encodeBody(m.message));
    return super.publishMany(messages);
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a client message is encoded once', () => {
  it('writes the JSON of the kwargs once, for the repr header and the body', async () => {
    const broker = new EncodingBroker();
    const client = createClient({ broker: broker as Broker });
    const input = { x: 1, tags: ['a', 'b'] };
    const stringify = vi.spyOn(JSON, 'stringify');
    await client.enqueue(job, input);
    const ofInput = stringify.mock.calls.filter(([value]) => value === input);
    expect(ofInput).toHaveLength(1);
    const m = broker.sent[0]?.message;
    expect(m?.headers.kwargsrepr).toBe('{"x":1,"tags":["a","b"]}');
    expect(broker.bodies[0]).toBe(encodeJson(m?.body));
  });

  it('writes the same body as the whole-body encoder, kombu tags, links and bulk included', async () => {
    const broker = new EncodingBroker();
    const client = createClient({ broker: broker as Broker });
    const when = new Date('2026-01-02T03:04:05.678Z');
    await client.enqueue(job, { x: 1, when });
    await client.enqueue(job, { x: 2 }, { link: [signature(job, { x: 3 })] });
    await client.send('py.task', { args: [1, 'two', { three: 3 }], kwargs: { k: 'v' } });
    await client.enqueueMany(job, [{ x: 4 }, { x: 5 }]);
    expect(broker.bodies).toHaveLength(5);
    broker.sent.forEach((out, i) => {
      expect(broker.bodies[i]).toBe(encodeJson(out.message.body));
    });
    // The tagged value travels tagged; its repr stays the plain JSON it was before.
    expect(JSON.parse(broker.bodies[0] ?? '')[1].when).toEqual({
      __type__: 'datetime',
      __value__: '2026-01-02T03:04:05.678+00:00',
    });
    expect(broker.sent[0]?.message.headers.kwargsrepr).toBe(JSON.stringify({ x: 1, when }));
  });

  it('sends what an interceptor changed in the body, not what was built', async () => {
    const broker = new EncodingBroker();
    const client = createClient({
      broker: broker as Broker,
      interceptors: [
        {
          publish(out, next) {
            (out.message.body[1] as { x: number }).x = 99;
            out.message.body[0].push('extra');
            return next(out);
          },
        },
      ],
    });
    await client.enqueue(job, { x: 1 });
    await client.enqueueMany(job, [{ x: 2 }]);
    for (const body of broker.bodies) {
      expect(JSON.parse(body).slice(0, 2)).toEqual([['extra'], { x: 99 }]);
    }
  });

  it('sends args or kwargs replaced after the message was built', async () => {
    const broker = new EncodingBroker();
    const client = createClient({
      broker: broker as Broker,
      interceptors: [
        {
          publish(out, next) {
            out.message.body[1] = { x: 7 };
            return next(out);
          },
        },
      ],
    });
    await client.enqueue(job, { x: 1 });
    expect(JSON.parse(broker.bodies[0] ?? '')[1]).toEqual({ x: 7 });
  });
});
