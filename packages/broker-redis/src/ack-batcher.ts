import type { CarriedStore } from '@celeriac/core/adapter';
import type { RedisClient } from './connection.js';
import type { HeldDelivery } from './delivery.js';
import type { FetchLoop } from './fetch-loop.js';
import { runScript, runSettleCarrying } from './scripts.js';

interface PendingAck {
  readonly held: HeldDelivery;
  /** A backend's result write to run before this ack, in the same script. */
  readonly store: CarriedStore | undefined;
  readonly resolve: (stillHeld: boolean) => void;
  readonly reject: (error: unknown) => void;
}

const MAX_BATCH = 500;

/** An error text the settle script returned for one write. */
function writeError(text: string): Error {
  const error = new Error(text);
  error.name = 'ReplyError';
  return error;
}

/**
 * Gathers the acks of one event-loop turn into one script call per keyspace (and per backend write
 * script, when acks carry result writes): a worker finishing many tasks at once pays one round
 * trip, not one per task, and the same call fetches the replacements.
 */
export class AckBatcher {
  /** Per loop, per write script ('' for plain acks). */
  private pending = new Map<FetchLoop, Map<string, PendingAck[]>>();
  private scheduled = false;

  constructor(private readonly client: RedisClient) {}

  /** Resolves `true` when acked, `false` when the consumer no longer held the delivery. */
  ack(held: HeldDelivery, store?: CarriedStore): Promise<boolean> {
    return new Promise((resolve, reject) => {
      let byScript = this.pending.get(held.loop);
      if (!byScript) {
        byScript = new Map();
        this.pending.set(held.loop, byScript);
      }
      const script = store?.script ?? '';
      const list = byScript.get(script);
      const item = { held, store, resolve, reject };
      if (list) list.push(item);
      else byScript.set(script, [item]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Sends everything gathered so far. */
  async flush(): Promise<void> {
    this.scheduled = false;
    const batches = [...this.pending].flatMap(([loop, byScript]) =>
      [...byScript].map(([script, items]) => ({ loop, script, items })),
    );
    this.pending = new Map();
    await Promise.all(
      batches.flatMap(({ loop, script, items }) => {
        const chunks: PendingAck[][] = [];
        for (let i = 0; i < items.length; i += MAX_BATCH) chunks.push(items.slice(i, i + MAX_BATCH));
        return chunks.map((chunk) => this.send(loop, script, chunk));
      }),
    );
  }

  private async send(loop: FetchLoop, script: string, chunk: readonly PendingAck[]): Promise<void> {
    // The slots these acks free are refilled by the same call: one round trip, not two.
    // (A delivery whose handler was reported done has given its slot back already.)
    let freeing = 0;
    for (const p of chunk) if (!p.held.handled) freeing++;
    const slots = loop.reserveWithAck(freeing);
    const fetch = slots > 0 ? loop.fetchArgs(slots) : [];
    let reply: [(number | string)[], unknown[], unknown[]?];
    try {
      reply = (await (script === ''
        ? runScript(
            this.client,
            'celeriacSettle',
            loop.keyspace,
            [loop.heldKey],
            ['ack', chunk.length, ...chunk.map((p) => p.held.tag), slots, ...fetch],
          )
        : this.sendCarrying(loop, script, chunk, slots, fetch))) as typeof reply;
    } catch (error) {
      // Whatever the lost reply fetched is held under our id: the loop hands it back.
      if (slots > 0) loop.acceptFetched(undefined, slots);
      for (const p of chunk) p.reject(error);
      return;
    }
    const [acks, fetched, stored] = reply;
    for (const [i, p] of chunk.entries()) {
      const ack = acks[i];
      if (typeof ack === 'string') {
        p.reject(writeError(ack));
        continue;
      }
      p.store?.done?.(stored?.[i] ?? null);
      p.resolve(ack === 1);
    }
    if (slots > 0) loop.acceptFetched(fetched, slots);
  }

  private sendCarrying(
    loop: FetchLoop,
    script: string,
    chunk: readonly PendingAck[],
    slots: number,
    fetch: readonly (string | number)[],
  ): Promise<unknown> {
    const keys = [loop.heldKey];
    const args: (string | number)[] = [chunk.length];
    for (const { held, store } of chunk) {
      if (store === undefined) {
        args.push(held.tag, -1, 0);
        continue;
      }
      keys.push(...store.keys);
      args.push(held.tag, store.keys.length, store.args.length, ...store.args);
    }
    args.push(slots, ...fetch);
    return runSettleCarrying(this.client, script, loop.keyspace, keys, args);
  }
}
