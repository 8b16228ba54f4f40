import { celeriacProject } from '../../vitest.shared.js';

export default celeriacProject('cli', { testTimeout: 120_000, hookTimeout: 60_000 });
