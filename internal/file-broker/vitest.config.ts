import { celeriacProject } from '../../vitest.shared.js';

export default celeriacProject('file-broker', { testTimeout: 30_000, hookTimeout: 30_000 });
