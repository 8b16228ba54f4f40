import type { Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { testMessage, uniqueName, waitFor } from '@celeriac/testkit';
import { describe, expect, it } from 'vitest';
import { KafkaBroker } from '../src/index.js';
import { KafkajsTransport } from '../src/transport/kafkajs-transport.js';
import type {
  GroupConsumer,
  GroupConsumerOptions,
  KafkaTransport,
  OffsetCommit,
} from '../src/transport/types.js';
import { brokers, kafkaUrl, testBroker, testTiming } from './kafka-env.js';

const up = await requireService('kafka', kafkaUrl);

/** The error kafkajs raises when the coordinator expelled the member (session expired). */
class UnknownMemberError extends Error {
  readonly type = 'UNKNOWN_MEMBER_ID';
  constructor() {
    super('The coordinator is not aware of this member');
  }
}

/**
 * A real Kafka transport whose group commits can be held and then refused, as they are for a
 * member the coordinator expelled (its process paused past the session timeout) while it kept
 * working: everything else goes to Kafka unchanged.
 */
class ExpellableTransport {
  readonly transport: KafkaTransport;
  /** Commits that reached the transport, accepted or not. */
  attempts = 0;
  refused = 0;
  private mode: 'pass' | 'hold' | 'refuse' = 'pass';
  private held: (() => void)[] = [];

  constructor() {
    const inner = new KafkajsTransport({
      brokers,
      clientId: 'celeriac-test',
      logLevel: 'nothing',
      readerGroupPrefix: 'celeriac-test~reader.',
    });
    const commit = (send: () => Promise<void>) => this.commit(send);
    this.transport = {
      connect: (topics) => inner.connect(topics),
      produce: (records) => inner.produce(records),
      ensureTopics: (specs) => inner.ensureTopics(specs),
      watermarks: (topic) => inner.watermarks(topic),
      committedOffsets: (groupId, topic) => inner.committedOffsets(groupId, topic),
      describeGroup: (groupId) => inner.describeGroup(groupId),
      deleteRecords: (topic, before) => inner.deleteRecords(topic, before),
      readAll: (topic, limit) => inner.readAll(topic, limit),
      close: () => inner.close(),
      createGroupConsumer(options: GroupConsumerOptions): GroupConsumer {
        const group = inner.createGroupConsumer(options);
        return {
          start: () => group.start(),
          pause: (partitions) => group.pause(partitions),
          resume: (partitions) => group.resume(partitions),
          commit: (offsets: readonly OffsetCommit[]) => commit(() => group.commit(offsets)),
          close: () => group.close(),
        };
      },
    };
  }

  /** Commits wait until {@link expel} from now on. */
  hold(): void {
    this.mode = 'hold';
  }

  /** Refuses every held and later commit. */
  expel(): void {
    this.mode = 'refuse';
    for (const release of this.held.splice(0)) release();
  }

  private async commit(send: () => Promise<void>): Promise<void> {
    this.attempts++;
    if (this.mode === 'hold') await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.mode === 'refuse') {
      this.refused++;
      throw new UnknownMemberError();
    }
    await send();
  }
}

/** The `i` of a test message. */
const indexOf = (d: Delivery) => (d.kind === 'task' ? (d.message.body[1].i as number) : -1);

/** Consumes `queue` one record at a time and acknowledges each, after `first(d)` when given. */
async function consumeAcking(
  broker: KafkaBroker,
  queue: string,
  first?: (d: Delivery) => void,
): Promise<Delivery[]> {
  const seen: Delivery[] = [];
  await broker.consume({
    queues: [queue],
    prefetch: 1,
    onDelivery: (d) => {
      seen.push(d);
      first?.(d);
      void d.ack();
    },
  });
  return seen;
}

/** What a member that is expelled while it works sees, and what the member after it sees. */
interface Expelled {
  readonly fromA: readonly Delivery[];
  readonly fromB: readonly Delivery[];
}

/**
 * Publishes one task (`kwargs.i`), lets a member whose commits can be refused consume it while
 * `expel` drives the expulsion (and waits until a commit was refused), kills that member, and
 * returns what it and the next owner of the partition were handed.
 */
async function expelWhileWorking(
  i: number,
  expel: (expellable: ExpellableTransport, member: KafkaBroker, queue: string) => Promise<Delivery[]>,
): Promise<Expelled> {
  const queue = uniqueName('expelled');
  const expellable = new ExpellableTransport();
  const a = new KafkaBroker({ brokers, ...testTiming, transport: expellable.transport });
  const b = testBroker();
  try {
    await a.publish({ queue, message: testMessage({ kwargs: { i } }) });
    const fromA = await expel(expellable, a, queue);
    await a.simulateCrash();
    const fromB = await consumeAcking(b, queue);
    await waitFor(() => fromB.length === 1, { what: 'the record at the next owner' });
    return { fromA, fromB };
  } finally {
    await a.close();
    await b.close();
    await expellable.transport.close();
  }
}

const withCounts = (ds: readonly Delivery[]) => ds.map((d) => [indexOf(d), d.deliveryCount]);

describe.skipIf(!up)('a member expelled while it works (its commits refused)', () => {
  it('hands nothing out before the group accepted a redelivery marker covering it', async () => {
    const { fromA, fromB } = await expelWhileWorking(0, async (expellable, member, queue) => {
      expellable.hold();
      const fromA = await consumeAcking(member, queue);
      // The first commit after the record was fetched is on its way: the member is expelled now.
      await waitFor(() => expellable.attempts > 0, { what: 'a commit from the member' });
      expellable.expel();
      await waitFor(() => expellable.refused > 0, { what: 'the commit refused' });
      return fromA;
    });
    // An expelled member cannot store its marker, so it must not run the record: if it did, the
    // next owner would see a first delivery and run it again without checking its state.
    expect(fromA.map(indexOf)).toEqual([]);
    expect(withCounts(fromB)).toEqual([[0, 1]]);
  });

  it('delivers a record it finished but could not commit again as a redelivery', async () => {
    const { fromA, fromB } = await expelWhileWorking(7, async (expellable, member, queue) => {
      // Expelled while running the task: it finishes, but its commit is refused.
      const fromA = await consumeAcking(member, queue, () => expellable.expel());
      await waitFor(() => fromA.length === 1 && expellable.refused > 0, { what: 'the ack commit refused' });
      return fromA;
    });
    // Counted as a redelivery, the worker reads the task's state first and skips a finished one.
    expect(withCounts(fromA)).toEqual([[7, 1]]);
    expect(withCounts(fromB)).toEqual([[7, 2]]);
  });
});
