import amqp, { type Options } from 'amqplib';

const DURABLE = { durable: true, exclusive: false, autoDelete: false } as const;

/**
 * Fills `raw` with `count` copies of one message read back from our queue `sample` (same body,
 * headers and properties, so the ceiling carries the same bytes), on a confirm channel.
 */
export async function prefillRawRabbit(
  url: string,
  sample: string,
  raw: string,
  count: number,
): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(raw, DURABLE);
    let content: Buffer = Buffer.from(
      JSON.stringify([[], { i: 0 }, { callbacks: null, errbacks: null, chain: null, chord: null }]),
    );
    let options: Options.Publish = {
      persistent: true,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
    };
    const got = await channel.get(sample, { noAck: false });
    if (got) {
      content = got.content;
      const p = got.properties;
      options = {
        persistent: true,
        contentType: p.contentType,
        contentEncoding: p.contentEncoding,
        headers: p.headers,
        correlationId: p.correlationId,
        replyTo: p.replyTo,
        priority: p.priority,
      };
      channel.nack(got, false, true);
    }
    for (let i = 0; i < count; i += 1000) {
      for (let k = i; k < Math.min(count, i + 1000); k++) channel.sendToQueue(raw, content, options);
      await channel.waitForConfirms();
    }
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** Deletes the queues (and what our adapter declares beside them) of the run. */
export async function cleanRabbit(url: string, queues: readonly string[]): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    for (const q of queues) {
      for (const name of [q, `${q}.dlq`]) {
        const ch = await connection.createChannel();
        await ch.deleteQueue(name).catch(() => {});
        await ch.close().catch(() => {});
      }
      const ch = await connection.createChannel();
      await ch.deleteExchange(q).catch(() => {});
      await ch.close().catch(() => {});
    }
  } finally {
    await connection.close();
  }
}
