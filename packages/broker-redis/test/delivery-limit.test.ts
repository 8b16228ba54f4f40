import { ConfigError } from '@celeriac/core';
import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { deliveryLimit } from '../src/delivery-limit.js';
import { brokerPool, redisUrl } from './helpers.js';

const up = await requireService('redis', redisUrl);

describe('the fetch script’s delivery limit', () => {
  it('is the broker’s own without a consumer limit, and a backstop well above one', () => {
    expect(deliveryLimit(10, undefined)).toBe(10);
    expect(deliveryLimit(10, 10)).toBe(20);
    expect(deliveryLimit(10, 3)).toBe(13);
    expect(deliveryLimit(50, 10)).toBe(50);
    expect(() => deliveryLimit(10, 0)).toThrow(ConfigError);
    expect(() => deliveryLimit(10, 2.5)).toThrow(ConfigError);
  });
});

describe.skipIf(!up)('a consumer that enforces its own delivery limit', () => {
  const pool = brokerPool();
  afterEach(() => pool.closeAll());

  it('gets the delivery over its limit from the broker instead of the broker dead-lettering it', async () => {
    const b = pool.make({ maxDeliveries: 3 });
    const queue = uniqueName('own-limit');
    const message = createTaskMessage({ task: 'tasks.poison' });
    await b.publish({ queue, message });
    const seen: Delivery[] = [];
    await b.consume({
      queues: [queue],
      prefetch: 1,
      maxDeliveries: 3,
      onDelivery: (d) => {
        seen.push(d);
        // The owner's job at its limit: dead-letter the delivery itself.
        void (d.deliveryCount > 3 ? d.deadLetter({ code: 'DELIVERY_LIMIT', message: 'owner' }) : d.requeue());
      },
    });
    const [dead] = await waitFor(
      async () => {
        const list = await b.readDeadLetters(queue);
        return list.length ? list : undefined;
      },
      { what: 'the dead letter' },
    );
    expect(seen.map((d) => d.deliveryCount)).toEqual([1, 2, 3, 4]);
    expect(dead?.reason.message).toBe('owner');
  });

  it('refuses a limit that is not a positive integer', async () => {
    const b = pool.make();
    await expect(
      b.consume({ queues: [uniqueName()], prefetch: 1, maxDeliveries: 0, onDelivery: () => {} }),
    ).rejects.toBeInstanceOf(ConfigError);
  });
});
