import { celeriacProject } from '../vitest.shared.js';

export default celeriacProject('e2e', {
  include: ['**/*.test.ts'],
  exclude: ['node_modules/**'],
  testTimeout: 60_000,
  fileParallelism: false,
});
