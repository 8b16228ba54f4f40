import { requireService } from '@celeriac/test-services';
import { describeResultBackend } from '@celeriac/testkit';
import { describe } from 'vitest';
import { RedisResultBackend, redisBackendCapabilities } from '../src/index.js';
import { REDIS_URL } from './helpers.js';

const up = await requireService('redis', REDIS_URL);

describe.skipIf(!up)('redis result backend', () => {
  describeResultBackend('redis', {
    create: () => new RedisResultBackend({ url: REDIS_URL }),
    capabilities: redisBackendCapabilities,
    lock: (backend) => backend,
  });
});
