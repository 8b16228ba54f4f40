import { requireService } from '@celeriac/test-services';

/** The Redis every fleet test keeps results in. */
export const redis = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The three networked brokers, by the URLs `scripts/services env` exports. */
export const brokers = [
  { name: 'redis', url: redis },
  { name: 'rabbitmq', url: process.env.CELERIAC_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672' },
  { name: 'kafka', url: `kafka://${process.env.CELERIAC_KAFKA_BROKERS ?? '127.0.0.1:9092'}` },
];

/** Whether Redis (the result backend) and each broker answer; under CI a missing one fails. */
export const redisUp = await requireService('redis', redis);
export const available = await Promise.all(brokers.map((b) => requireService(b.name, b.url)));
