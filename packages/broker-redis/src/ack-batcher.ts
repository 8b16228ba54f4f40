import type { RedisClient } from './connection.js';
import type { HeldDelivery } from './delivery.js';
import type { FetchLoop } from './fetch-loop.js';
import { runScript } from './scripts.js';

interface PendingAck {
  readonly held: HeldDelivery;
  readonly resolve: (stillHeld: boolean) => void;
  readonly reject: (error: unknown) => void;
}

const MAX_BATCH = 500;

/**
 * Gathers the acks of one event-loop turn into one script call per keyspace: a worker finishing
 * many tasks at once pays one round trip, not one per task.
 */
export class AckBatcher {
  private pending = new Map<FetchLoop, PendingAck[]>();
  private scheduled = false;

  constructor(private readonly client: RedisClient) {}

  /** Resolves `true` when acked, `false` when the consumer no longer held the delivery. */
  ack(held: HeldDelivery): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const list = this.pending.get(held.loop) ?? [];
      list.push({ held, resolve, reject });
      this.pending.set(held.loop, list);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Sends everything gathered so far. */
  async flush(): Promise<void> {
    this.scheduled = false;
    const batches = [...this.pending];
    this.pending = new Map();
    await Promise.all(
      batches.flatMap(([loop, items]) => {
        const chunks: PendingAck[][] = [];
        for (let i = 0; i < items.length; i += MAX_BATCH) chunks.push(items.slice(i, i + MAX_BATCH));
        return chunks.map(async (chunk) => {
          const tags = chunk.map((p) => p.held.tag);
          // The slots these acks free are refilled by the same call: one round trip, not two.
          // (A delivery whose handler was reported done has given its slot back already.)
          let freeing = 0;
          for (const p of chunk) if (!p.held.handled) freeing++;
          const slots = loop.reserveWithAck(freeing);
          const fetch = slots > 0 ? loop.fetchArgs(slots) : [];
          let reply: [number[], unknown[]];
          try {
            reply = (await runScript(
              this.client,
              'celeriacSettle',
              loop.keyspace,
              [loop.heldKey],
              ['ack', tags.length, ...tags, slots, ...fetch],
            )) as [number[], unknown[]];
          } catch (error) {
            // Whatever the lost reply fetched is held under our id: the loop hands it back.
            if (slots > 0) loop.acceptFetched(undefined, slots);
            for (const p of chunk) p.reject(error);
            return;
          }
          const [acks, fetched] = reply;
          for (const [i, p] of chunk.entries()) p.resolve(acks[i] === 1);
          if (slots > 0) loop.acceptFetched(fetched, slots);
        });
      }),
    );
  }
}
