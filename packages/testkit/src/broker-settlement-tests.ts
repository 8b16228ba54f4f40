import { expect, it } from 'vitest';
import { type BrokerSuiteContext, idOf, testMessage } from './broker-context.js';
import { sleep, uniqueName, waitFor } from './wait-for.js';

/** The settlement rule of `DeliverySettlement`, the same on every broker. */
export function settlementTests(ctx: BrokerSuiteContext): void {
  const caps = ctx.options.capabilities;
  const reason = { code: 'TESTKIT', message: 'settled by the conformance suite' };

  it('settles a delivery once: later settle calls resolve and do nothing', async () => {
    const broker = await ctx.broker();
    const queue = uniqueName();
    const rec = await ctx.record(broker, queue);
    const message = testMessage();
    await broker.publish({ queue, message });
    const d = await waitFor(() => rec.deliveries[0], { timeoutMs: ctx.deliveryMs, what: 'delivery' });
    await d.ack();
    await d.ack();
    await d.requeue();
    await d.deadLetter(reason);
    // A marker published after the settle calls must be the only thing delivered from now on.
    const marker = testMessage();
    await broker.publish({ queue, message: marker });
    const next = await waitFor(() => rec.deliveries[1], { timeoutMs: ctx.deliveryMs, what: 'marker' });
    await sleep(300);
    expect(rec.deliveries.map(idOf)).toEqual([message.headers.id, marker.headers.id]);
    await next.ack();
    if (caps.deadLetter) expect(await broker.readDeadLetters(queue)).toEqual([]);
  });

  it('lets a settle call made while another is in flight share its outcome', async () => {
    const broker = await ctx.broker();
    const queue = uniqueName();
    const rec = await ctx.record(broker, queue);
    const message = testMessage();
    await broker.publish({ queue, message });
    const d = await waitFor(() => rec.deliveries[0], { timeoutMs: ctx.deliveryMs, what: 'delivery' });
    // The requeue goes first and decides: the ack does nothing of its own.
    await Promise.all([d.requeue(), d.ack()]);
    const again = await waitFor(() => rec.deliveries[1], { timeoutMs: ctx.deliveryMs, what: 'redelivery' });
    expect(idOf(again)).toBe(message.headers.id);
    await again.ack();
    await sleep(300);
    expect(rec.deliveries).toHaveLength(2);
  });

  it('does nothing when settling a delivery its consumer has returned', async () => {
    const broker = await ctx.broker();
    const queue = uniqueName();
    const message = testMessage();
    await broker.publish({ queue, message });
    const rec = await ctx.record(broker, queue, 1);
    const d = await waitFor(() => rec.deliveries[0], { timeoutMs: ctx.deliveryMs, what: 'delivery' });
    await rec.consumer.close();
    await d.ack();
    const rec2 = await ctx.record(broker, queue, 1);
    const again = await waitFor(() => rec2.deliveries[0], {
      timeoutMs: ctx.deliveryMs,
      what: 'the returned delivery, delivered again',
    });
    expect(idOf(again)).toBe(message.headers.id);
    await again.ack();
  });

  it.skipIf(!ctx.options.interruptSettlement)(
    'leaves a delivery unsettled when settling it fails, so it can be settled again',
    async () => {
      const broker = await ctx.broker();
      const queue = uniqueName();
      const rec = await ctx.record(broker, queue, 1);
      const message = testMessage();
      await broker.publish({ queue, message });
      const d = await waitFor(() => rec.deliveries[0], { timeoutMs: ctx.deliveryMs, what: 'delivery' });
      const restore = await (
        ctx.options.interruptSettlement as NonNullable<typeof ctx.options.interruptSettlement>
      )(broker);
      const failed = await d.ack().then(
        () => undefined,
        (error: unknown) => error,
      );
      await restore();
      expect(failed).toBeInstanceOf(Error);
      // As the worker does after a failed ack: settle it again, now another way.
      if (caps.deadLetter) {
        await d.deadLetter(reason);
        const dead = await waitFor(async () => (await broker.readDeadLetters(queue))[0], {
          timeoutMs: ctx.deliveryMs,
          what: 'the dead letter of the second settlement',
        });
        expect(dead.reason).toEqual(reason);
        expect(dead.raw).toContain(message.headers.id);
      } else {
        await d.requeue();
        const again = await waitFor(() => rec.deliveries[1], {
          timeoutMs: ctx.deliveryMs,
          what: 'redelivery',
        });
        expect(idOf(again)).toBe(message.headers.id);
        await again.ack();
      }
    },
  );
}
