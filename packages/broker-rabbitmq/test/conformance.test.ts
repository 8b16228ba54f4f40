import { requireService } from '@celeriac/test-services';
import { describeBroker } from '@celeriac/testkit';
import { describe } from 'vitest';
import { rabbitmqBrokerCapabilities, rabbitmqCapabilities } from '../src/capabilities.js';
import { AMQP_URL, BrokerFactory, injectRaw, simulateCrash } from './support.js';

const up = await requireService('rabbitmq', AMQP_URL);

describe.skipIf(!up)('rabbitmq', () => {
  // Celery's defaults: classic queues without x-max-priority.
  const plain = new BrokerFactory();
  describeBroker('rabbitmq (classic)', {
    create: () => plain.create(),
    capabilities: rabbitmqBrokerCapabilities,
    injectRaw,
    simulateCrash,
    cleanup: () => plain.cleanup(),
  });

  // Priority queues, as with Celery's task_queue_max_priority = 10.
  const priority = new BrokerFactory({ maxPriority: 10 });
  describeBroker('rabbitmq (x-max-priority 10)', {
    create: () => priority.create(),
    capabilities: rabbitmqCapabilities({ maxPriority: 10 }),
    injectRaw,
    simulateCrash,
    cleanup: () => priority.cleanup(),
  });
});
