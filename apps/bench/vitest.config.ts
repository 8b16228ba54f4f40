import { celeriacProject } from '../../vitest.shared.js';

export default celeriacProject('bench', { testTimeout: 60_000, fileParallelism: false });
