import { celeriacProject } from '../../vitest.shared.js';

// The browser test drives a real worker, Redis and Chromium: generous timeouts, files one at a time.
export default celeriacProject('dashboard', {
  fileParallelism: false,
  testTimeout: 60_000,
  hookTimeout: 60_000,
});
