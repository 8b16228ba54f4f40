import type { KafkaTransport, ProduceRecord } from './transport/types.js';

function size(record: ProduceRecord): number {
  let n = 64 + (record.key?.length ?? 0);
  n += typeof record.value === 'string' ? Buffer.byteLength(record.value) : (record.value?.length ?? 0);
  for (const [k, v] of Object.entries(record.headers)) n += k.length + Buffer.byteLength(v) + 8;
  return n;
}

/**
 * Produces records in requests of at most `maxBytes` each, one after another: a partition's record
 * batch must stay under the topic's `max.message.bytes`, and sequential requests keep per-key order.
 */
export async function produceInChunks(
  transport: KafkaTransport,
  records: readonly ProduceRecord[],
  maxBytes: number,
): Promise<void> {
  let chunk: ProduceRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const n = size(record);
    if (chunk.length > 0 && bytes + n > maxBytes) {
      await transport.produce(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(record);
    bytes += n;
  }
  if (chunk.length > 0) await transport.produce(chunk);
}
