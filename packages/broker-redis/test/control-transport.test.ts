import { requireService } from '@celeriac/test-services';
import { describeControlTransport } from '@celeriac/testkit';
import { describe } from 'vitest';
import { createControlTransport } from '../src/index.js';
import { redisUrl } from './helpers.js';

const up = await requireService('redis', redisUrl);

describe.skipIf(!up)('redis control transport', () => {
  describeControlTransport('redis', {
    create: (namespace) => createControlTransport(redisUrl, { namespace }),
  });
});
