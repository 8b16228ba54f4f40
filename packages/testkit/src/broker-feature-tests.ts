import { expect, it } from 'vitest';
import { type BrokerSuiteContext, idOf, testMessage } from './broker-context.js';
import { sleep, uniqueName, waitFor } from './wait-for.js';

/** Delays, priorities, depth/purge, payload edge cases and dead letters, by capability. */
export function featureTests(ctx: BrokerSuiteContext): void {
  const caps = ctx.options.capabilities;

  it.skipIf(!caps.delay)('holds a delayed message in the broker until it is due', async () => {
    const broker = await ctx.broker();
    const queue = uniqueName();
    const rec = await ctx.record(broker, queue);
    const delayed = testMessage();
    const now = testMessage();
    const sentAt = Date.now();
    await broker.publish({ queue, message: delayed, delayMs: 1200 });
    await broker.publish({ queue, message: now });
    await waitFor(() => rec.deliveries.length === 2, {
      timeoutMs: 1200 + ctx.deliveryMs,
      what: 'both messages',
    });
    const at = Date.now();
    expect(rec.deliveries.map(idOf)).toEqual([now.headers.id, delayed.headers.id]);
    // Never early: delivered no sooner than its delay (timer slack of 50 ms allowed).
    expect(at - sentAt).toBeGreaterThanOrEqual(1150);
    await Promise.all(rec.deliveries.map((d) => d.ack()));
  });

  it.skipIf(!caps.delay)('requeues with a broker-held delay', async () => {
    const broker = await ctx.broker();
    const queue = uniqueName();
    const rec = await ctx.record(broker, queue);
    const message = testMessage();
    await broker.publish({ queue, message });
    const d1 = await waitFor(() => rec.deliveries[0], { timeoutMs: ctx.deliveryMs, what: 'first delivery' });
    const requeuedAt = Date.now();
    await d1.requeue({ delayMs: 800 });
    const d2 = await waitFor(() => rec.deliveries[1], {
      timeoutMs: 800 + ctx.deliveryMs,
      what: 'delayed redelivery',
    });
    expect(Date.now() - requeuedAt).toBeGreaterThanOrEqual(750);
    expect(idOf(d2)).toBe(message.headers.id);
    await d2.ack();
  });

  it.skipIf(!caps.priority)('delivers more urgent messages first', async () => {
    const broker = await ctx.broker();
    const queue = uniqueName();
    const low = testMessage({ priority: 0 });
    const mid = testMessage({ priority: 5 });
    const high = testMessage({ priority: 9 });
    // Published before any consumer exists, least urgent first.
    await broker.publish({ queue, message: low });
    await broker.publish({ queue, message: mid });
    await broker.publish({ queue, message: high });
    await sleep(100);
    const rec = await ctx.record(broker, queue, 1);
    for (let i = 1; i <= 3; i++) {
      const d = await waitFor(() => rec.deliveries[i - 1], {
        timeoutMs: ctx.deliveryMs,
        what: `delivery ${i}`,
      });
      await d.ack();
    }
    expect(rec.deliveries.map(idOf)).toEqual([high.headers.id, mid.headers.id, low.headers.id]);
  });

  it.skipIf(!caps.depth || !caps.purge)('reports depth and purges waiting messages', async () => {
    const broker = await ctx.broker();
    const queue = uniqueName();
    await broker.publishMany(Array.from({ length: 5 }, () => ({ queue, message: testMessage() })));
    await waitFor(async () => (await broker.depth(queue)) === 5, {
      timeoutMs: ctx.deliveryMs,
      what: 'depth 5',
    });
    expect(await broker.purge(queue)).toBeGreaterThanOrEqual(5);
    expect(await broker.depth(queue)).toBe(0);
  });

  it('carries a large payload intact', async () => {
    const broker = await ctx.broker();
    const queue = uniqueName();
    const big = 'x'.repeat(Math.min(1024 * 1024, caps.maxMessageBytes / 2));
    const rec = await ctx.record(broker, queue);
    const message = testMessage({ kwargs: { big } });
    await broker.publish({ queue, message });
    const d = await waitFor(() => rec.deliveries[0], { timeoutMs: ctx.deliveryMs, what: 'large delivery' });
    expect(d.kind === 'task' && d.message.body[1].big).toBe(big);
    await d.ack();
  });

  it('carries unicode and kombu-tagged values intact', async () => {
    const broker = await ctx.broker();
    const queue = uniqueName();
    const text = 'héllo 世界 🚀 مرحبا \u0000 "quoted" \\ \n';
    const when = new Date('2024-01-02T03:04:05.678Z');
    const bytes = new Uint8Array([0, 255, 1]);
    const rec = await ctx.record(broker, queue);
    await broker.publish({ queue, message: testMessage({ args: [text], kwargs: { when, bytes } }) });
    const d = await waitFor(() => rec.deliveries[0], { timeoutMs: ctx.deliveryMs, what: 'unicode delivery' });
    expect(d.kind).toBe('task');
    if (d.kind !== 'task') return;
    expect(d.message.body[0]).toEqual([text]);
    expect(d.message.body[1].when).toEqual(when);
    expect(d.message.body[1].bytes).toEqual(bytes);
    await d.ack();
  });

  it.skipIf(!ctx.options.injectRaw)(
    'hands over a malformed message with its raw text instead of dropping it',
    async () => {
      const broker = await ctx.broker();
      const queue = uniqueName();
      const rec = await ctx.record(broker, queue);
      await ctx.options.injectRaw?.(queue, '{"this is": not json');
      const d = await waitFor(() => rec.deliveries[0], {
        timeoutMs: ctx.deliveryMs,
        what: 'malformed delivery',
      });
      expect(d.kind).toBe('malformed');
      if (d.kind !== 'malformed') return;
      expect(d.error.code).toBe('MESSAGE_UNDECODABLE');
      expect(d.raw).toContain('not json');
      await d.deadLetter({ code: d.error.code, message: d.error.message });
    },
  );

  it.skipIf(!caps.deadLetter)('keeps dead letters with their reason', async () => {
    const broker = await ctx.broker();
    const queue = uniqueName();
    const rec = await ctx.record(broker, queue);
    const message = testMessage({ task: 'testkit.unknown' });
    await broker.publish({ queue, message });
    const d = await waitFor(() => rec.deliveries[0], { timeoutMs: ctx.deliveryMs, what: 'delivery' });
    await d.deadLetter({ code: 'TASK_NOT_REGISTERED', message: 'no implementation for testkit.unknown' });
    const dead = await waitFor(async () => (await broker.readDeadLetters(queue))[0], {
      timeoutMs: ctx.deliveryMs,
      what: 'dead letter',
    });
    expect(dead.queue).toBe(queue);
    expect(dead.reason.code).toBe('TASK_NOT_REGISTERED');
    expect(dead.raw).toContain(message.headers.id);
    await sleep(200);
    expect(rec.deliveries).toHaveLength(1);
  });

  it.skipIf(!caps.redrive)('redrives dead letters back onto their queue', async () => {
    const broker = await ctx.broker();
    const queue = uniqueName();
    const rec = await ctx.record(broker, queue);
    const message = testMessage();
    await broker.publish({ queue, message });
    const d = await waitFor(() => rec.deliveries[0], { timeoutMs: ctx.deliveryMs, what: 'delivery' });
    await d.deadLetter({ code: 'TEST', message: 'sent to dead letters by the test' });
    await waitFor(async () => (await broker.readDeadLetters(queue)).length === 1, {
      timeoutMs: ctx.deliveryMs,
      what: 'dead letter',
    });
    expect(await broker.redriveDeadLetters(queue)).toBe(1);
    const again = await waitFor(() => rec.deliveries[1], {
      timeoutMs: ctx.deliveryMs,
      what: 'redriven delivery',
    });
    expect(idOf(again)).toBe(message.headers.id);
    await again.ack();
  });
}
