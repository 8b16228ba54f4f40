import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@celeriac/source'] },
  test: { name: 'testkit', include: ['test/**/*.test.ts'] },
});
