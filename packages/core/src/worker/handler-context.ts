import type { TaskDelivery } from '../broker.js';
import type { TaskHeaders, TaskMessage } from '../message.js';
import type { TaskContext } from './implement.js';

/** Where a handler's `ctx.progress` goes (the runner stores it as a STARTED-class state). */
export type ProgressSink = (message: TaskMessage, meta: unknown, state: string) => Promise<void>;

/**
 * The `ctx` a handler gets. A class rather than an object literal: the literal's `signal` getter
 * and `progress` closure made every task's context a slow, dictionary-shaped object (about 20×
 * the cost to create), and one is made per task.
 */
export class HandlerContext implements TaskContext {
  readonly id: string;
  readonly name: string;
  readonly attempt: number;
  readonly deliveryCount: number;
  readonly queue: string;
  readonly rootId: string;
  readonly parentId: string | null;
  readonly headers: Readonly<TaskHeaders>;

  constructor(
    private readonly message: TaskMessage,
    delivery: Pick<TaskDelivery, 'deliveryCount' | 'queue'>,
    private readonly getSignal: () => AbortSignal,
    private readonly sink: ProgressSink,
  ) {
    const { headers } = message;
    this.id = headers.id;
    this.name = headers.task;
    this.attempt = headers.retries + 1;
    this.deliveryCount = delivery.deliveryCount;
    this.queue = delivery.queue;
    this.rootId = headers.root_id;
    this.parentId = headers.parent_id;
    this.headers = headers;
  }

  /** Made on first use: most handlers never look at it. */
  get signal(): AbortSignal {
    return this.getSignal();
  }

  progress(meta: unknown, state = 'PROGRESS'): Promise<void> {
    return this.sink(this.message, meta, state);
  }
}
