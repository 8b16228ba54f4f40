import { celeriacProject } from '../../vitest.shared.js';

// One shared Redis (plus servers some tests start themselves): files run one after another so
// recovery timings stay calm.
export default celeriacProject('broker-redis', {
  fileParallelism: false,
  testTimeout: 30_000,
  hookTimeout: 60_000,
});
