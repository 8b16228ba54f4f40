import type { ControlReply } from './protocol.js';
import type { CollectOptions } from './transport.js';

/** One request's collection of replies. */
export interface ReplyCollection {
  /** Resolves with the replies once `limit` came or `timeoutMs` passed. */
  readonly finished: Promise<ControlReply[]>;
  /** Ends the collection now (e.g. publishing the request failed). */
  cancel(): void;
}

/**
 * The replies being gathered for a control transport's requests: each collection matches replies by
 * ticket, reports each to `onReply`, and ends at its limit or timeout. Every transport shares it, so
 * only how replies arrive differs between brokers.
 */
export class ReplyCollectors {
  private readonly open = new Set<{
    readonly options: CollectOptions;
    readonly replies: ControlReply[];
    readonly done: () => void;
  }>();

  /** Collections still gathering: a transport reads replies only while there are some. */
  get size(): number {
    return this.open.size;
  }

  /** Starts gathering the replies of one request. */
  start(options: CollectOptions): ReplyCollection {
    let done!: () => void;
    const replies: ControlReply[] = [];
    const finished = new Promise<ControlReply[]>((resolve) => {
      const timer = setTimeout(() => done(), options.timeoutMs);
      const collection = {
        options,
        replies,
        done: () => {
          clearTimeout(timer);
          this.open.delete(collection);
          resolve(replies);
        },
      };
      done = collection.done;
      this.open.add(collection);
    });
    return { finished, cancel: () => done() };
  }

  /** Hands a reply that arrived with `ticket` to the collections waiting for it. */
  deliver(ticket: unknown, reply: ControlReply): void {
    for (const c of this.open) {
      if (c.options.ticket !== ticket) continue;
      c.replies.push(reply);
      c.options.onReply?.(reply);
      if (c.options.limit !== undefined && c.replies.length >= c.options.limit) c.done();
    }
  }

  /** Ends every collection (the transport is closing). */
  closeAll(): void {
    for (const c of [...this.open]) c.done();
  }
}
