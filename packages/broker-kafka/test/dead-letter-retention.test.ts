import { requireService } from '@celeriac/test-services';
import { uniqueName } from '@celeriac/testkit';
import { ConfigResourceTypes } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { deadLetterTopicConfig } from '../src/dead-letters.js';
import { resolveOptions } from '../src/options.js';
import { kafkaAdmin, kafkaUrl, testBroker } from './kafka-env.js';

const up = await requireService('kafka', kafkaUrl);

describe('the dead-letter topic’s configuration', () => {
  it('is bounded in size, in segments of an eighth of it, and kept without a time limit', () => {
    expect(deadLetterTopicConfig(1_000_000, 256 * 1024 * 1024)).toEqual({
      'max.message.bytes': '1000000',
      'retention.ms': '-1',
      'retention.bytes': String(256 * 1024 * 1024),
      'segment.bytes': String(32 * 1024 * 1024),
    });
    expect(deadLetterTopicConfig(1_000_000, 2 * 1024 * 1024)['segment.bytes']).toBe(String(1024 * 1024));
    expect(resolveOptions({ brokers: ['x:1'] }).deadLetterRetentionBytes).toBe(256 * 1024 * 1024);
    expect(() => resolveOptions({ brokers: ['x:1'], deadLetterRetentionBytes: 1000 })).toThrow(/at least/);
  });
});

describe.skipIf(!up)('a queue’s dead-letter topic on Kafka', () => {
  it('is created with retention.bytes, so the dead-letter place stays bounded', async () => {
    const queue = uniqueName('dlq-retention');
    const broker = testBroker({ partitions: 1, deadLetterRetentionBytes: 8 * 1024 * 1024 });
    const admin = await kafkaAdmin();
    try {
      const topics = await broker.declareQueue(queue);
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topics.dlq }],
      });
      const entries = Object.fromEntries(
        (described.resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]),
      );
      expect(entries['retention.bytes']).toBe(String(8 * 1024 * 1024));
      expect(entries['segment.bytes']).toBe(String(1024 * 1024));
      expect(entries['retention.ms']).toBe('-1');
      await admin.deleteTopics({ topics: [topics.work, topics.dlq, ...topics.tiers.map((t) => t.topic)] });
    } finally {
      await admin.disconnect();
      await broker.close();
    }
  });
});
