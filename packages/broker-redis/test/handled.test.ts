import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { sleep, uniqueName, waitFor } from '@celeriac/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerPool, redisUrl } from './helpers.js';

const up = await requireService('redis', redisUrl);

describe.skipIf(!up)('handled(): a finished handler gives its slot back before the ack', () => {
  const pool = brokerPool();
  afterEach(() => pool.closeAll());

  it('fetches one replacement per handled delivery, never more than the prefetch still in process', async () => {
    const b = pool.make();
    const queue = uniqueName('handled');
    await b.publishMany(
      Array.from({ length: 5 }, (_, i) => ({ queue, message: createTaskMessage({ task: 't', args: [i] }) })),
    );
    const got: Delivery[] = [];
    await b.consume({ queues: [queue], prefetch: 1, onDelivery: (d) => got.push(d) });
    await waitFor(() => got.length === 1, { what: 'the first delivery' });
    await sleep(200);
    expect(got).toHaveLength(1);

    // Handler done, outcome not yet stored: the next message may start.
    got[0]?.handled?.();
    await waitFor(() => got.length === 2, { what: 'a replacement before the ack' });
    got[0]?.handled?.(); // Reported twice: still one slot.
    await sleep(200);
    expect(got).toHaveLength(2);

    // Acking the handled one frees nothing more; acking the running one does.
    await got[0]?.ack();
    await sleep(200);
    expect(got).toHaveLength(2);
    await got[1]?.ack();
    await waitFor(() => got.length === 3, { what: 'the third delivery' });
    expect(got.map((d) => (d.kind === 'task' ? d.message.body[0] : null))).toEqual([[0], [1], [2]]);
    expect(await b.depth(queue)).toBe(2);
  });
});
