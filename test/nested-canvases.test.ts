import { createResultBackend } from '@celeriac/backend-redis';
import { KafkaBroker } from '@celeriac/broker-kafka';
import { RabbitMQBroker } from '@celeriac/broker-rabbitmq';
import { RedisBroker } from '@celeriac/broker-redis';
import { requireService } from '@celeriac/test-services';
import { describeNestedCanvases } from '@celeriac/testkit';
import { describe } from 'vitest';

const redis = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const amqp = process.env.CELERIAC_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const redisUp = await requireService('redis', redis);
const rabbitUp = await requireService('rabbitmq', amqp);
const kafkaBrokers = process.env.CELERIAC_KAFKA_BROKERS ?? '127.0.0.1:9092';
const kafkaUp = await requireService('kafka', `kafka://${kafkaBrokers}`);

describe.skipIf(!redisUp)('Redis broker, Redis backend', () => {
  describeNestedCanvases('redis', {
    create: async () => ({ broker: new RedisBroker({ url: redis }), backend: createResultBackend(redis) }),
  });
});

describe.skipIf(!redisUp || !rabbitUp)('RabbitMQ broker, Redis backend', () => {
  describeNestedCanvases('rabbitmq', {
    create: async () => ({ broker: new RabbitMQBroker({ url: amqp }), backend: createResultBackend(redis) }),
  });
});

describe.skipIf(!redisUp || !kafkaUp)('Kafka broker, Redis backend', () => {
  describeNestedCanvases('kafka', {
    create: async () => ({
      broker: new KafkaBroker({ brokers: kafkaBrokers.split(','), partitions: 1 }),
      backend: createResultBackend(redis),
    }),
  });
});
