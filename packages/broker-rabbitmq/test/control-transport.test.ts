import { requireService } from '@celeriac/test-services';
import { describeControlTransport } from '@celeriac/testkit';
import { describe } from 'vitest';
import { createControlTransport } from '../src/index.js';
import { AMQP_URL } from './support.js';

const up = await requireService('rabbitmq', AMQP_URL);

describe.skipIf(!up)('rabbitmq control transport', () => {
  describeControlTransport('rabbitmq', {
    create: (namespace) => createControlTransport(AMQP_URL, { namespace }),
  });
});
