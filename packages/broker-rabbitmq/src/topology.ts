import type { Channel } from 'amqplib';
import { explainPreconditionFailed, replyCode, toCeleriacError } from './errors.js';
import {
  DEAD_LETTER_EXCHANGE,
  DELAY_TIERS,
  deadLetterQueueName,
  delayBitPattern,
  delayLevelName,
} from './names.js';
import type { ResolvedOptions } from './options.js';
import type { Session } from './session.js';

/** The options that shape declarations. */
export type TopologySettings = Pick<
  ResolvedOptions,
  'maxPriority' | 'queueType' | 'deliveryLimit' | 'deadLetterMaxEntries'
>;

/** Declaration flags Celery (kombu) uses for queues and exchanges: any difference is a 406. */
const DURABLE = { durable: true, exclusive: false, autoDelete: false } as const;

/** AMQP `signedint`, the type py-amqp gives small integers, so the argument tables read alike. */
function signedInt(value: number): { '!': 'int'; value: number } {
  return { '!': 'int', value };
}

/**
 * Arguments of a work queue, exactly as Celery would declare it with the same settings:
 * `x-max-priority` from `task_queue_max_priority`, `x-queue-type` from `task_default_queue_type`.
 * `x-delivery-limit` (and where its casualties go) only when asked for.
 */
export function workQueueArguments(settings: TopologySettings, queue: string): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  if (settings.maxPriority !== undefined) args['x-max-priority'] = signedInt(settings.maxPriority);
  if (settings.queueType === 'quorum') args['x-queue-type'] = 'quorum';
  if (settings.deliveryLimit !== undefined) {
    args['x-delivery-limit'] = signedInt(settings.deliveryLimit);
    args['x-dead-letter-exchange'] = DEAD_LETTER_EXCHANGE;
    args['x-dead-letter-routing-key'] = queue;
  }
  return args;
}

/** Runs one declaration, turning a 406 into a {@link ConfigError} that names the argument. */
async function declare(kind: 'queue' | 'exchange', name: string, op: () => Promise<unknown>): Promise<void> {
  try {
    await op();
  } catch (error) {
    if (replyCode(error) === 406) throw explainPreconditionFailed(kind, name, error);
    throw toCeleriacError(error, `declaring ${kind} "${name}"`);
  }
}

/**
 * Arguments of a dead-letter queue: bounded to the newest `deadLetterMaxEntries` (RabbitMQ drops
 * the oldest), so a flood of poison messages cannot fill the node.
 */
export function deadLetterQueueArguments(settings: TopologySettings, capped = true): Record<string, unknown> {
  const type = settings.queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : {};
  if (!capped) return type;
  return { ...type, 'x-max-length': signedInt(settings.deadLetterMaxEntries), 'x-overflow': 'drop-head' };
}

/**
 * The dead-letter exchange, the queue's DLQ and their binding. The DLQ is declared on a channel
 * of its own: one declared without a cap by an earlier version refuses the capped declaration
 * (406, which closes the channel), and is then kept as it is.
 */
async function declareDeadLetter(session: Session, queue: string, settings: TopologySettings): Promise<void> {
  const dlq = deadLetterQueueName(queue);
  const args = deadLetterQueueArguments(settings);
  try {
    await session.withChannel((ch) => ch.assertQueue(dlq, { ...DURABLE, arguments: args }));
  } catch (error) {
    if (replyCode(error) !== 406) throw toCeleriacError(error, `declaring queue "${dlq}"`);
    const uncapped = deadLetterQueueArguments(settings, false);
    await session.withChannel((ch) =>
      declare('queue', dlq, () => ch.assertQueue(dlq, { ...DURABLE, arguments: uncapped })),
    );
  }
  await session.withChannel(async (ch) => {
    await declare('exchange', DEAD_LETTER_EXCHANGE, () =>
      ch.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', DURABLE),
    );
    await declare('queue', dlq, () => ch.bindQueue(dlq, DEAD_LETTER_EXCHANGE, queue));
  });
}

/**
 * Celery's topology for a queue: a durable direct exchange named after it, the durable queue,
 * and a binding with the queue name as routing key. Messages still go through the default
 * exchange; the exchange exists so that both sides' declarations are the same.
 */
export function ensureWorkQueue(session: Session, queue: string, settings: TopologySettings): Promise<void> {
  return session.ensure(`queue:${queue}`, async () => {
    // A delivery limit dead-letters into the DLQ, which must exist first or the message is lost.
    if (settings.deliveryLimit !== undefined) await ensureDeadLetterQueue(session, queue, settings);
    await session.withChannel(async (ch) => {
      await declare('exchange', queue, () => ch.assertExchange(queue, 'direct', DURABLE));
      await declare('queue', queue, () =>
        ch.assertQueue(queue, { ...DURABLE, arguments: workQueueArguments(settings, queue) }),
      );
      await declare('queue', queue, () => ch.bindQueue(queue, queue, queue));
    });
  });
}

/** The dead-letter exchange `celeriac.dlx` and the queue's `<queue>.dlq`, bound by the queue name. */
export function ensureDeadLetterQueue(
  session: Session,
  queue: string,
  settings: TopologySettings,
): Promise<void> {
  return session.ensure(`dlq:${queue}`, () => declareDeadLetter(session, queue, settings));
}

/**
 * The delay chain of a queue (see the README): level k is a topic exchange and a classic queue
 * with `x-message-ttl` 2^k ms, both named `celeriac.delay.<queue>.<k>`. Exchange k sends
 * messages whose bit k is 1 into queue k, the others on to exchange k-1; queue k dead-letters
 * expired messages into exchange k-1 keeping their routing key. Level 0 ends in the work queue.
 */
export function ensureDelayChain(
  session: Session,
  queue: string,
  settings: TopologySettings,
  tier: number,
): Promise<void> {
  return session.ensure(`delay:${queue}:${tier}`, async () => {
    // Tiers build on each other: messages only ever move down the chain, towards level 0.
    const below = [...DELAY_TIERS].reverse().find((top) => top < tier);
    if (below === undefined) await ensureWorkQueue(session, queue, settings);
    else await ensureDelayChain(session, queue, settings, below);
    const first = below === undefined ? 0 : below + 1;
    await session.withChannel(async (ch) => {
      for (let level = first; level <= tier; level++) await declareDelayLevel(ch, queue, level);
      for (let level = first; level <= tier; level++) await bindDelayLevel(ch, queue, level);
    });
  });
}

async function declareDelayLevel(ch: Channel, queue: string, level: number): Promise<void> {
  const name = delayLevelName(queue, level);
  const next =
    level === 0
      ? { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue }
      : { 'x-dead-letter-exchange': delayLevelName(queue, level - 1) };
  await declare('exchange', name, () => ch.assertExchange(name, 'topic', DURABLE));
  await declare('queue', name, () =>
    ch.assertQueue(name, { ...DURABLE, arguments: { 'x-message-ttl': 2 ** level, ...next } }),
  );
}

async function bindDelayLevel(ch: Channel, queue: string, level: number): Promise<void> {
  const name = delayLevelName(queue, level);
  await declare('queue', name, () => ch.bindQueue(name, name, delayBitPattern(level, 1)));
  await declare('exchange', name, () =>
    level === 0
      ? ch.bindQueue(queue, name, delayBitPattern(0, 0))
      : ch.bindExchange(delayLevelName(queue, level - 1), name, delayBitPattern(level, 0)),
  );
}

/** Celery's event exchange (`celery/events/event.py`): topic `celeryev`, durable, as kombu declares it. */
export const EVENT_EXCHANGE = 'celeryev';

/** Declares the `celeryev` exchange that Flower and `celery events` bind their queues to. */
export function ensureEventExchange(session: Session): Promise<void> {
  return session.ensure('events', () =>
    session.withChannel((ch) =>
      declare('exchange', EVENT_EXCHANGE, () => ch.assertExchange(EVENT_EXCHANGE, 'topic', DURABLE)),
    ),
  );
}
