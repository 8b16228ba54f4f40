import { requireService } from '@celeriac/test-services';
import { describeFlowStore } from '@celeriac/testkit';
import { describe } from 'vitest';
import { RedisResultBackend } from '../src/index.js';
import { REDIS_URL } from './helpers.js';

const up = await requireService('redis', REDIS_URL);

describe.skipIf(!up)('redis result backend', () => {
  // Each store gets its own connections, as separate processes would; the index key is the suite's own.
  describeFlowStore('redis', {
    create: ({ taskIndexSize }) =>
      new RedisResultBackend({
        url: REDIS_URL,
        globalKeyPrefix: `flow-suite-${process.pid}`,
        taskIndex: { max: taskIndexSize },
      }),
    close: (backend) => backend.close(),
  });
});
