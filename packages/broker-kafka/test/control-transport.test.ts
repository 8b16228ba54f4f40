import { requireService } from '@celeriac/test-services';
import { describeControlTransport } from '@celeriac/testkit';
import { describe } from 'vitest';
import { createControlTransport } from '../src/index.js';
import { kafkaUrl } from './kafka-env.js';

const up = await requireService('kafka', kafkaUrl);

describe.skipIf(!up)('kafka control transport', () => {
  // A first call waits for the reply reader to join its group.
  describeControlTransport('kafka', {
    create: (namespace) => createControlTransport(kafkaUrl, { namespace }),
    timeoutMs: 5000,
  });
});
