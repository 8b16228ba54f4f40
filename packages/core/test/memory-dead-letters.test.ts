import { describe, expect, it } from 'vitest';
import { createTaskMessage, type Delivery } from '../src/adapter/index.js';
import { ConfigError, MemoryBroker } from '../src/index.js';

async function deadLetterAll(broker: MemoryBroker, queue: string, count: number, blob = '') {
  const got: Delivery[] = [];
  const consumer = await broker.consume({ queues: [queue], prefetch: 100, onDelivery: (d) => got.push(d) });
  for (let i = 0; i < count; i++) {
    await broker.publish({ queue, message: createTaskMessage({ task: 't', kwargs: { i, blob } }) });
  }
  await new Promise((r) => setImmediate(r));
  expect(got).toHaveLength(count);
  for (const [i, d] of got.entries()) await d.deadLetter({ code: 'TEST', message: `letter ${i + 1}` });
  await consumer.close();
}

describe('the in-memory broker’s dead letters', () => {
  it('keep the newest up to the cap and count the ones dropped', async () => {
    const broker = new MemoryBroker({ deadLetterMaxEntries: 3 });
    await deadLetterAll(broker, 'q', 5);
    const kept = await broker.readDeadLetters('q');
    expect(kept.map((d) => d.reason.message)).toEqual(['letter 3', 'letter 4', 'letter 5']);
    expect(broker.deadLettersDropped('q')).toBe(2);
    await broker.close();
  });

  it('keep the head of a raw message over the byte limit, note its size, and do not redrive it', async () => {
    const broker = new MemoryBroker({ deadLetterMaxBytes: 1000 });
    await deadLetterAll(broker, 'q', 1, '😀é'.repeat(2000));
    await deadLetterAll(broker, 'q', 1);
    const [cut, whole] = await broker.readDeadLetters('q');
    expect(Buffer.byteLength(cut?.raw ?? '')).toBeLessThanOrEqual(1000);
    expect(cut?.raw).not.toMatch(/[\ud800-\udbff]$/);
    expect(cut?.reason.message).toMatch(
      /^letter 1 \[raw message truncated: .* of \d+ bytes; not redriven\]$/,
    );
    expect(whole?.reason.message).toBe('letter 1');
    expect(await broker.redriveDeadLetters('q')).toBe(1);
    expect((await broker.readDeadLetters('q')).map((d) => d.reason.message)).toEqual([cut?.reason.message]);
    expect(await broker.depth('q')).toBe(1);
    await broker.close();
  });

  it('refuse limits that are not positive integers', () => {
    expect(() => new MemoryBroker({ deadLetterMaxEntries: 0 })).toThrow(ConfigError);
    expect(() => new MemoryBroker({ deadLetterMaxBytes: 1.5 })).toThrow(ConfigError);
  });
});
