import { defineTask, MemoryResultBackend } from '@celeriac/core';
import { type ClientInterceptor, createClient, signature, signingInterceptor } from '@celeriac/core/producer';
import { createWorker, implement, type TaskEventMap, type Worker } from '@celeriac/core/worker';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { badInputTarget } from './bad-input/targets.js';

/**
 * Signed messages on every real broker: the signature and key id survive each transport's headers,
 * so a signing worker runs what a signing client sends (and its own retries and chain steps), and
 * refuses the unsigned, the altered and the unknown-key ones without storing anything.
 */

const anything = {
  '~standard': { version: 1, vendor: 'signing-test', validate: (value: unknown) => ({ value }) },
} as const;
const numbers = {
  '~standard': { version: 1, vendor: 'signing-test', validate: (value: unknown) => ({ value }) },
  shape: { x: null, y: null },
} as const;
const add = defineTask({ name: 'signing.add', input: numbers, output: anything });
const flaky = defineTask({ name: 'signing.flaky', input: anything, output: anything });

const k1 = { id: 'k1', secret: 'first signing secret of 32 bytes' };
const k2 = { id: 'k2', secret: 'second signing secret, 32 bytes.' };

const tamper: ClientInterceptor = {
  publish(out, next) {
    (out.message.body[1] as Record<string, unknown>).x = 1000;
    return next(out);
  },
};

for (const name of ['redis', 'rabbitmq', 'kafka'] as const) {
  const target = badInputTarget(name);
  const up = await target.available();
  describe.skipIf(!up)(`message signing on ${name}`, () => {
    const workers: Worker[] = [];
    afterAll(async () => {
      await Promise.all(workers.map((w) => w.stop({ graceMs: 1_000 })));
      await target.close();
    });

    it('runs signed tasks, retries and chain steps; refuses unsigned, altered and unknown-key ones', async () => {
      const queue = uniqueName(`signing-${name}`);
      await target.declare(queue);
      const backend = new MemoryResultBackend();
      const flakyRuns = new Map<string, number>();
      const worker = createWorker({
        broker: target.open(),
        backend,
        queues: [queue],
        signing: { keys: [k2, k1], sign: 'k2' },
        tasks: [
          implement(add, (input) => {
            const { x, y } = input as { x: number; y: number };
            return x + y;
          }),
          implement(flaky, (_input, ctx) => {
            const n = (flakyRuns.get(ctx.id) ?? 0) + 1;
            flakyRuns.set(ctx.id, n);
            if (n === 1) throw new Error('once');
            return 'second time';
          }),
        ],
      });
      workers.push(worker);
      const rejected: TaskEventMap['task-rejected'][] = [];
      worker.on('task-rejected', (e) => rejected.push(e));
      await worker.start();
      const producer = target.open();
      const signed = createClient({ broker: producer, backend, signing: { keys: [k1] } });
      const rotated = createClient({ broker: producer, backend, signing: { keys: [k2] } });

      const sum = await signed.enqueue(add, { x: 1, y: 2 }, { queue });
      expect(await sum.result({ timeoutMs: 20_000 })).toBe(3);
      const retried = await rotated.enqueue(flaky, {}, { queue, retry: { max: 2, initialDelayMs: 0 } });
      expect(await retried.result({ timeoutMs: 20_000 })).toBe('second time');
      const chain = await signed.chain([
        signature(add, { x: 1, y: 1 }, { queue }),
        signature(add, { y: 10 }, { queue }),
      ]);
      expect(await chain.result({ timeoutMs: 20_000 })).toBe(12);

      const unsigned = await createClient({ broker: producer, backend }).enqueue(
        add,
        { x: 1, y: 1 },
        { queue },
      );
      const altered = await createClient({
        broker: producer,
        backend,
        interceptors: [signingInterceptor({ keys: [k1] }), tamper],
      }).enqueue(add, { x: 1, y: 1 }, { queue });
      const stranger = await createClient({
        broker: producer,
        backend,
        signing: { keys: [{ id: 'k3', secret: 'a key this worker does not know.' }] },
      }).enqueue(add, { x: 1, y: 1 }, { queue });
      await waitFor(() => rejected.length >= 3, { timeoutMs: 20_000, what: 'three rejections' });

      expect(rejected.map((r) => r.reason.code)).toEqual([
        'SIGNATURE_REJECTED',
        'SIGNATURE_REJECTED',
        'SIGNATURE_REJECTED',
      ]);
      const reasons = rejected.map((r) => r.reason.message).join('\n');
      expect(reasons).toContain('unsigned');
      expect(reasons).toContain('does not match its signature');
      expect(reasons).toContain('unknown key k3');
      for (const handle of [unsigned, altered, stranger]) expect(await backend.get(handle.id)).toBeNull();
      const letters = await producer.readDeadLetters(queue, 100);
      expect(letters.map((l) => l.reason.code)).toEqual([
        'SIGNATURE_REJECTED',
        'SIGNATURE_REJECTED',
        'SIGNATURE_REJECTED',
      ]);
    }, 90_000);
  });
}
