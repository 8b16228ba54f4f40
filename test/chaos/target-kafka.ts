import { KafkaBroker } from '@celeriac/broker-kafka';
import { probeTcp } from '@celeriac/test-services';
import { waitFor } from '@celeriac/testkit';
import { servicePid, services } from './services.js';
import { adapterRequire, type ChaosTarget } from './target.js';

/** Brokers under test (`CELERIAC_KAFKA_BROKERS`, comma-separated host:port). */
export const kafkaBrokers = (process.env.CELERIAC_KAFKA_BROKERS ?? '127.0.0.1:9092')
  .split(',')
  .map((b) => b.trim());

/** The little of kafkajs's admin client this file uses. */
interface RawAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  fetchTopicOffsets(topic: string): Promise<{ partition: number; high: string; low: string }[]>;
  fetchOffsets(o: {
    groupId: string;
    topics: string[];
  }): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
  deleteTopics(o: { topics: string[] }): Promise<void>;
}
interface RawKafka {
  Kafka: new (config: Record<string, unknown>) => { admin(): RawAdmin };
  logLevel: { NOTHING: number };
}

/**
 * The shared Kafka. Workers use the broker's shortest session timeout (6 s), so a killed or frozen
 * member is noticed within seconds; Kafka keeps every record across a restart.
 */
export function kafkaTarget(): ChaosTarget {
  const workerOptions = {
    brokers: kafkaBrokers,
    partitions: 4,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 1_000,
    revokeTimeoutMs: 3_000,
  };
  const brokers: KafkaBroker[] = [];
  const open = () => {
    const b = new KafkaBroker(workerOptions);
    brokers.push(b);
    return b;
  };
  const { Kafka, logLevel } = adapterRequire('broker-kafka')('kafkajs') as RawKafka;
  const admin = new Kafka({
    brokers: kafkaBrokers,
    clientId: 'celeriac-chaos',
    logLevel: logLevel.NOTHING,
  }).admin();
  let connected: Promise<void> | undefined;
  const ready = () => {
    connected ??= admin.connect();
    return connected;
  };
  /** Records of a topic the group has not committed. */
  const uncommitted = async (topic: string, group: string) => {
    const [marks, [committed]] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId: group, topics: [topic] }),
    ]);
    let n = 0;
    for (const m of marks) {
      const c = Number(committed?.partitions.find((p) => p.partition === m.partition)?.offset ?? -1);
      n += Math.max(0, Number(m.high) - Math.max(Number(m.low), c));
    }
    return n;
  };
  return {
    name: 'kafka',
    packageName: '@celeriac/broker-kafka',
    workerOptions,
    openBroker: open,
    injectRaw: async (queue, text) => {
      const b = open();
      await b.injectRaw(queue, text);
    },
    restartHow: 'the broker stopped with SIGTERM (controlled shutdown) and started again on its log dirs',
    restart: async () => {
      // A restart keeps the data: never the fresh data dir `up` starts with past its folder limit.
      await services(['restart', 'kafka'], { KAFKA_MAX_PARTITION_DIRS: String(Number.MAX_SAFE_INTEGER) });
      await waitFor(() => probeTcp('127.0.0.1', Number(kafkaBrokers[0]?.split(':')[1] ?? 9092), 500), {
        timeoutMs: 120_000,
        what: 'Kafka to accept connections again',
      });
      return undefined;
    },
    serverPid: async () => servicePid('kafka/kafka.pid'),
    pauseMs: 10_000,
    held: async (queue) => {
      await ready();
      const group = `celeriac.${queue}`;
      const tiers = (await admin.listTopics()).filter((t) => t.startsWith(`${queue}.retry.`));
      const [work, ...delayed] = await Promise.all([queue, ...tiers].map((t) => uncommitted(t, group)));
      // Uncommitted work records are held or waiting alike: Kafka cannot tell them apart.
      return { unacked: work ?? 0, waiting: delayed.reduce((a, b) => a + b, 0) };
    },
    close: async (queue) => {
      await Promise.allSettled(brokers.map((b) => b.close()));
      await ready().catch(() => {});
      const topics = (await admin.listTopics().catch(() => [] as string[])).filter(
        (t) => t === queue || t.startsWith(`${queue}.`),
      );
      if (topics.length) await admin.deleteTopics({ topics }).catch(() => {});
      await admin.disconnect().catch(() => {});
    },
  };
}
