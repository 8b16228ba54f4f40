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

describe.skipIf(!up)('a member expelled while it works (its commits refused)', () => {
  it('hands nothing out before the group accepted a redelivery marker covering it', async () => {
    const queue = uniqueName('expelled');
    const expellable = new ExpellableTransport();
    const a = new KafkaBroker({ brokers, ...testTiming, transport: expellable.transport });
    const b = testBroker();
    try {
      await a.publish({ queue, message: testMessage({ kwargs: { i: 0 } }) });
      expellable.hold();
      const fromA: Delivery[] = [];
      await a.consume({
        queues: [queue],
        prefetch: 1,
        onDelivery: (d) => {
          fromA.push(d);
          void d.ack();
        },
      });
      // The first commit after the record was fetched is on its way: the member is expelled now.
      await waitFor(() => expellable.attempts > 0, { what: 'a commit from the member' });
      expellable.expel();
      await waitFor(() => expellable.refused > 0, { what: 'the commit refused' });
      await a.simulateCrash();

      const fromB: Delivery[] = [];
      await b.consume({
        queues: [queue],
        prefetch: 1,
        onDelivery: (d) => {
          fromB.push(d);
          void d.ack();
        },
      });
      await waitFor(() => fromB.length === 1, { what: 'the record at the next owner' });
      // An expelled member cannot store its marker, so it must not run the record: if it did, the
      // next owner would see a first delivery and run it again without checking its state.
      expect(fromA.map(indexOf)).toEqual([]);
      expect(fromB.map((d) => [indexOf(d), d.deliveryCount])).toEqual([[0, 1]]);
    } finally {
      await a.close();
      await b.close();
      await expellable.transport.close();
    }
  });

  it('delivers a record it finished but could not commit again as a redelivery', async () => {
    const queue = uniqueName('expelled');
    const expellable = new ExpellableTransport();
    const a = new KafkaBroker({ brokers, ...testTiming, transport: expellable.transport });
    const b = testBroker();
    try {
      await a.publish({ queue, message: testMessage({ kwargs: { i: 7 } }) });
      const fromA: Delivery[] = [];
      await a.consume({
        queues: [queue],
        prefetch: 1,
        onDelivery: (d) => {
          fromA.push(d);
          // Expelled while running the task: it finishes, but its commit is refused.
          expellable.expel();
          void d.ack();
        },
      });
      await waitFor(() => fromA.length === 1 && expellable.refused > 0, { what: 'the ack commit refused' });
      await a.simulateCrash();

      const fromB: Delivery[] = [];
      await b.consume({
        queues: [queue],
        prefetch: 1,
        onDelivery: (d) => {
          fromB.push(d);
          void d.ack();
        },
      });
      await waitFor(() => fromB.length === 1, { what: 'the record at the next owner' });
      // Counted as a redelivery, the worker reads the task's state first and skips a finished one.
      expect(fromA.map((d) => [indexOf(d), d.deliveryCount])).toEqual([[7, 1]]);
      expect(fromB.map((d) => [indexOf(d), d.deliveryCount])).toEqual([[7, 2]]);
    } finally {
      await a.close();
      await b.close();
      await expellable.transport.close();
    }
  });
});
