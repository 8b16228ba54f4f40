import type { DeadLetter } from '@celeriac/core';
import type { Message } from 'amqplib';
import { DEAD_LETTER_HEADERS, rawEnvelope, republishOptions, routeSpec } from './codec.js';
import { deadLetterQueueName } from './names.js';
import type { Publisher } from './publisher.js';
import type { Session } from './session.js';

/** RabbitMQ's own dead-lettering reasons (in `x-death`), as Celeriac codes. */
const X_DEATH_CODES: Record<string, string> = {
  delivery_limit: 'DELIVERY_LIMIT',
  rejected: 'REJECTED',
  expired: 'EXPIRED',
  maxlen: 'MAX_LENGTH',
};

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The newest `x-death` entry RabbitMQ added when it dead-lettered the message itself. */
function lastDeath(msg: Message): { reason?: string; time?: number } | undefined {
  const deaths: unknown = msg.properties.headers?.['x-death'];
  if (!Array.isArray(deaths) || deaths.length === 0) return undefined;
  const first = deaths[0] as { reason?: unknown; time?: { value?: unknown } };
  return {
    ...(typeof first.reason === 'string' ? { reason: first.reason } : {}),
    ...(typeof first.time?.value === 'number' ? { time: first.time.value * 1000 } : {}),
  };
}

/** A dead-lettered message as the core sees it: its reason and the raw message. */
export function toDeadLetter(queue: string, msg: Message): DeadLetter {
  const headers = msg.properties.headers ?? {};
  const death = lastDeath(msg);
  const code =
    text(headers[DEAD_LETTER_HEADERS.code]) ??
    (death?.reason ? (X_DEATH_CODES[death.reason] ?? death.reason.toUpperCase()) : 'UNKNOWN');
  const message =
    text(headers[DEAD_LETTER_HEADERS.message]) ??
    (death?.reason ? `dead-lettered by RabbitMQ (${death.reason})` : 'no reason recorded');
  const at = Date.parse(text(headers[DEAD_LETTER_HEADERS.at]) ?? '');
  return {
    queue,
    reason: { code, message },
    raw: rawEnvelope(msg),
    at: new Date(Number.isNaN(at) ? (death?.time ?? Date.now()) : at),
  };
}

/**
 * Reads up to `limit` dead letters without removing them: `basic.get` without acknowledgement,
 * then closing the channel puts them all back where they were, so the order is kept.
 */
export function readDeadLetters(session: Session, queue: string, limit: number): Promise<DeadLetter[]> {
  const dlq = deadLetterQueueName(queue);
  return session.withTolerantChannel(async (step) => {
    const out: DeadLetter[] = [];
    while (out.length < limit) {
      const msg = await step((ch) => ch.get(dlq, { noAck: false }));
      if (!msg) break;
      out.push(toDeadLetter(queue, msg));
    }
    return out;
  });
}

/**
 * Moves the dead letters present when it starts back onto their queue, one at a time: publish
 * with confirm, then acknowledge the dead letter. The reason headers, the delivery count and any
 * expiration are dropped, so the message starts over.
 */
export function redriveDeadLetters(session: Session, publisher: Publisher, queue: string): Promise<number> {
  const dlq = deadLetterQueueName(queue);
  return session.withTolerantChannel(async (step) => {
    const info = await step((ch) => ch.checkQueue(dlq));
    let moved = 0;
    for (let i = 0; i < (info?.messageCount ?? 0); i++) {
      const got = await step(async (ch) => {
        const msg = await ch.get(dlq, { noAck: false });
        return msg ? { ch, msg } : undefined;
      });
      if (!got) break;
      const options = republishOptions(got.msg);
      delete options.expiration;
      await publisher.publish(routeSpec(queue, got.msg.content, options, 0));
      got.ch.ack(got.msg);
      moved += 1;
    }
    return moved;
  });
}
