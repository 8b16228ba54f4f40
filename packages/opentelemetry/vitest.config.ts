import { celeriacProject } from '../../vitest.shared.js';

// One trace per broker on the shared services: files one at a time.
export default celeriacProject('opentelemetry', {
  fileParallelism: false,
  testTimeout: 60_000,
  hookTimeout: 60_000,
});
