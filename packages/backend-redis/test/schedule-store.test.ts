import { requireService } from '@celeriac/test-services';
import { describeScheduleStore } from '@celeriac/testkit';
import { describe } from 'vitest';
import { RedisResultBackend } from '../src/index.js';
import { REDIS_URL } from './helpers.js';

const up = await requireService('redis', REDIS_URL);

describe.skipIf(!up)('redis result backend', () => {
  // Each scheduler gets its own backend and connection, as separate processes would.
  describeScheduleStore('redis', {
    create: () => new RedisResultBackend({ url: REDIS_URL, globalKeyPrefix: 'schedule-suite' }),
    close: (backend) => backend.close(),
  });
});
