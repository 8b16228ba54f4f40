import { type Admin, Kafka, logLevel } from 'kafkajs';
import { KafkaBroker, type KafkaBrokerOptions } from '../src/index.js';

/** Brokers under test (`CELERIAC_KAFKA_BROKERS`, comma-separated host:port). */
export const brokers = (process.env.CELERIAC_KAFKA_BROKERS ?? '127.0.0.1:9092')
  .split(',')
  .map((b) => b.trim());

/** The service URL for `requireService`. */
export const kafkaUrl = `kafka://${brokers.join(',')}`;

/**
 * Short group timeouts so failover happens within seconds in tests (the broker's minimum session
 * timeout is 6 s).
 */
export const testTiming = {
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 1_000,
  revokeTimeoutMs: 3_000,
} as const satisfies KafkaBrokerOptions;

/** A broker for tests. */
export function testBroker(options: KafkaBrokerOptions = {}): KafkaBroker {
  return new KafkaBroker({ brokers, ...testTiming, ...options });
}

/** A plain kafkajs admin client, to check what the adapter left in Kafka. */
export async function kafkaAdmin(): Promise<Admin> {
  const admin = new Kafka({ brokers, clientId: 'celeriac-test', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  return admin;
}

/** The group's committed offset of one partition, or null. */
export async function committedOffset(
  admin: Admin,
  groupId: string,
  topic: string,
  partition = 0,
): Promise<number | null> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const p = entry?.partitions.find((x) => x.partition === partition);
  const offset = Number(p?.offset ?? -1);
  return offset >= 0 ? offset : null;
}

/** Records ever written to a topic (sum of high watermarks). */
export async function recordsWritten(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((n, o) => n + Number(o.high), 0);
}
