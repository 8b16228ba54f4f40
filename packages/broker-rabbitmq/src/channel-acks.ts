import type { Channel, Message } from 'amqplib';

/** A delivery whose ack is waiting for the end of the turn. */
interface Waiting {
  readonly msg: Message;
  readonly lost: () => void;
}

/**
 * The acknowledgements of one channel, gathered per event-loop turn. amqplib writes every frame
 * with its own socket write, and a write costs far more than the frame; a worker finishing a batch
 * of tasks would pay one per task. At the end of the turn, the acks that cover every delivery still
 * open from the oldest on go out as one `basic.ack` with `multiple` set; the rest one by one.
 *
 * `multiple` acknowledges *every* unacknowledged delivery up to its tag, so this tracks which
 * deliveries are still open on the channel: a multiple ack is only sent across deliveries that are
 * all waiting for theirs.
 */
export class ChannelAcks {
  /**
   * Deliveries received and not yet acked or nacked on the wire. A Set iterates in insertion
   * order, which is arrival order: ascending tags, oldest first.
   */
  private readonly open = new Set<number>();
  private waiting = new Map<number, Waiting>();
  private flushed: Promise<void> | undefined;
  private release: (() => void) | undefined;

  constructor(readonly channel: Channel) {}

  /** Records a delivery as open; called for every message received on the channel. */
  received(msg: Message): void {
    this.open.add(msg.fields.deliveryTag);
  }

  /**
   * Acknowledges at the end of this turn. Resolves once the frame is written; `lost` is called
   * instead when the channel closed first (RabbitMQ then delivers the message again).
   */
  ack(msg: Message, lost: () => void): Promise<void> {
    this.waiting.set(msg.fields.deliveryTag, { msg, lost });
    if (!this.flushed) {
      this.flushed = new Promise((resolve) => {
        this.release = resolve;
      });
      setImmediate(() => this.flush());
    }
    return this.flushed;
  }

  /** Rejects (returning to the queue when `requeue`) at once. Throws if the channel is closed. */
  nack(msg: Message, requeue: boolean): void {
    this.open.delete(msg.fields.deliveryTag);
    this.channel.nack(msg, false, requeue);
  }

  private flush(): void {
    const waiting = this.waiting;
    const release = this.release;
    this.waiting = new Map();
    this.flushed = undefined;
    this.release = undefined;
    // The longest run of open deliveries from the oldest on that are all waiting: one frame.
    const run: Waiting[] = [];
    for (const tag of this.open) {
      const w = waiting.get(tag);
      if (!w) break;
      waiting.delete(tag);
      this.open.delete(tag);
      run.push(w);
    }
    const last = run[run.length - 1];
    if (last && !this.send(last.msg, true)) for (const w of run) w.lost();
    // Acks behind a delivery still running go one by one.
    for (const [tag, w] of waiting) {
      this.open.delete(tag);
      if (!this.send(w.msg, false)) w.lost();
    }
    release?.();
  }

  /** Writes one ack; `false` when the channel is closed (amqplib throws then). */
  private send(msg: Message, multiple: boolean): boolean {
    try {
      this.channel.ack(msg, multiple);
      return true;
    } catch {
      return false;
    }
  }
}
