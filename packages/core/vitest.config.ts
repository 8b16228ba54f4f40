import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@celeriac/source'] },
  test: { name: 'core', include: ['src/**/*.test.ts'], typecheck: { enabled: true, include: ['src/**/*.test-d.ts'] } },
});
