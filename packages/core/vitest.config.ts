import { celeriacProject } from '../../vitest.shared.js';

export default celeriacProject('core', {
  typecheck: {
    enabled: true,
    include: ['src/**/*.test-d.ts', 'test/**/*.test-d.ts'],
    tsconfig: './tsconfig.test.json',
  },
});
