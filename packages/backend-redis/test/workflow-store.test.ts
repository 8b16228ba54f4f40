import { requireService } from '@celeriac/test-services';
import { describeWorkflowStore } from '@celeriac/testkit';
import { describe } from 'vitest';
import { RedisResultBackend } from '../src/index.js';
import { REDIS_URL } from './helpers.js';

const up = await requireService('redis', REDIS_URL);

describe.skipIf(!up)('redis result backend', () => {
  describeWorkflowStore('redis', {
    create: () => new RedisResultBackend({ url: REDIS_URL }),
    close: (backend) => backend.close(),
  });
});
