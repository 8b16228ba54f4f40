import { celeriacProject } from '../../vitest.shared.js';

// One real Redis shared by every file (and a few servers started by the tests themselves): run files
// one after another.
export default celeriacProject('backend-redis', {
  fileParallelism: false,
  testTimeout: 30_000,
  hookTimeout: 30_000,
});
