import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@celeriac/source'] },
  test: {
    name: 'broker-kafka',
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // One real broker shared by every file: run files one after another.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: { KAFKAJS_NO_PARTITIONER_WARNING: '1' },
  },
});
