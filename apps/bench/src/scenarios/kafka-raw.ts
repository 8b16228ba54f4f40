import { type IHeaders, Kafka, logLevel } from 'kafkajs';

/** Our Kafka broker URL for a broker list, with the partition count of new topics. */
export function kafkaUrl(brokers: string, partitions: number): string {
  return `kafka://${brokers}?partitions=${partitions}`;
}

function client(brokers: string): Kafka {
  return new Kafka({ clientId: 'bench-raw', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
}

/** Reads one record of our topic (to copy its bytes), or `null` when none arrives in 15 s. */
async function sampleRecord(
  kafka: Kafka,
  topic: string,
): Promise<{ value: Buffer; headers: IHeaders } | null> {
  const consumer = kafka.consumer({ groupId: `${topic}-sampler` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    return await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), 15_000);
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ message }) => {
          clearTimeout(timer);
          resolve(message.value ? { value: message.value, headers: message.headers ?? {} } : null);
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
}

/** Creates `topic` with `partitions` partitions and writes `count` records (copies of one of ours when `sample` is set). */
export async function prefillRawKafka(
  brokers: string,
  sample: string | null,
  topic: string,
  partitions: number,
  count: number,
): Promise<void> {
  const kafka = client(brokers);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  const copy = sample ? await sampleRecord(kafka, sample) : null;
  const value =
    copy?.value ??
    Buffer.from(
      JSON.stringify([[], { i: 0 }, { callbacks: null, errbacks: null, chain: null, chord: null }]),
    );
  const headers = copy?.headers ?? {};
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let i = 0; i < count; i += 1000) {
      const n = Math.min(1000, count - i);
      await producer.send({
        topic,
        messages: Array.from({ length: n }, (_, k) => ({ value, headers, partition: (i + k) % partitions })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Deletes every topic and consumer group whose name contains the run id. */
export async function cleanKafka(brokers: string, runId: string): Promise<void> {
  const admin = client(brokers).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.includes(runId));
    if (topics.length) await admin.deleteTopics({ topics }).catch(() => {});
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.includes(runId));
    if (groups.length) await admin.deleteGroups(groups).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}
