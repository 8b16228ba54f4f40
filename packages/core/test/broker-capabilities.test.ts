import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../src/contract.js';
import { CeleriacError, UnsupportedError } from '../src/errors.js';
import { type ClientInterceptor, createClient, signature } from '../src/producer/index.js';
import { RecordingBroker } from './recording-broker.js';

const add = defineTask({
  name: 'caps.add',
  input: z.object({ x: z.number(), y: z.number() }),
  output: z.number(),
});
const urgent = defineTask({
  name: 'caps.urgent',
  input: z.object({}),
  output: z.number(),
  defaults: { priority: 9 },
});

async function unsupported(call: Promise<unknown>): Promise<string> {
  const error = await call.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UnsupportedError);
  return (error as UnsupportedError).feature;
}

describe('a client over a broker that declares a capability absent', () => {
  it('refuses a priority before publishing, whether from the call, the contract or a signature', async () => {
    // The in-memory broker declaring no priority, as Kafka does.
    const broker = new RecordingBroker({ priority: false });
    const client = createClient({ broker });
    expect(await unsupported(client.enqueue(add, { x: 1, y: 2 }, { priority: 5 }))).toBe('priority');
    expect(await unsupported(client.enqueue(urgent, {}))).toBe('priority');
    expect(await unsupported(client.enqueueMany(add, [{ x: 1, y: 2 }], { priority: 0 }))).toBe('priority');
    expect(await unsupported(client.send('py.task', {}, { priority: 1 }))).toBe('priority');
    expect(await unsupported(client.group([signature(add, { x: 1, y: 2 }, { priority: 3 })]))).toBe(
      'priority',
    );
    expect(broker.sent).toHaveLength(0);
    await client.enqueue(add, { x: 1, y: 2 });
    await client.enqueueMany(add, [{ x: 1, y: 2 }]);
    expect(broker.sent).toHaveLength(2);
    expect(await broker.depth('celery')).toBe(2);
  });

  it('refuses a delay or an eta on a broker without delays', async () => {
    const broker = new RecordingBroker({ delay: false });
    const client = createClient({ broker });
    expect(await unsupported(client.enqueue(add, { x: 1, y: 2 }, { delayMs: 1_000 }))).toMatch(/delay/);
    expect(await unsupported(client.enqueue(add, { x: 1, y: 2 }, { eta: new Date(0) }))).toMatch(/delay/);
    expect(broker.sent).toHaveLength(0);
    await client.enqueue(add, { x: 1, y: 2 }, { priority: 4 });
    expect(broker.sent).toHaveLength(1);
  });

  it('checks after the interceptors, which see the refusal as a rejection of next', async () => {
    const broker = new RecordingBroker({ priority: false });
    const seen: unknown[] = [];
    const prioritising: ClientInterceptor = {
      async publish(out, next) {
        out.message.properties.priority = 9;
        await next(out).catch((error: unknown) => {
          seen.push(CeleriacError.is(error, 'UNSUPPORTED'));
          throw error;
        });
      },
    };
    const client = createClient({ broker, interceptors: [prioritising] });
    expect(await unsupported(client.enqueue(add, { x: 1, y: 2 }))).toBe('priority');
    expect(seen).toEqual([true]);
    expect(broker.sent).toHaveLength(0);
  });
});
