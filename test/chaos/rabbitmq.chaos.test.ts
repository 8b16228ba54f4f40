import { requireService } from '@celeriac/test-services';
import { describeChaos } from './run-chaos.js';
import { AMQP_URL, rabbitmqTarget } from './target-rabbitmq.js';

// The run restarts and freezes the shared RabbitMQ; test files run one at a time, and each fault
// waits until the broker serves again.
describeChaos({
  broker: 'rabbitmq',
  adapter: '@celeriac/broker-rabbitmq',
  available: await requireService('rabbitmq', AMQP_URL),
  target: rabbitmqTarget,
});
