import { createResultBackend } from '@celeriac/backend-redis';
import { RabbitMQBroker } from '@celeriac/broker-rabbitmq';
import { RedisBroker } from '@celeriac/broker-redis';
import { requireService } from '@celeriac/test-services';
import { describeNestedCanvases } from '@celeriac/testkit';
import { describe } from 'vitest';

const redis = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const amqp = process.env.CELERIAC_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const redisUp = await requireService('redis', redis);
const rabbitUp = await requireService('rabbitmq', amqp);

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
