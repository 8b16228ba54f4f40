import { celeriacProject } from '../../vitest.shared.js';

export default celeriacProject('worker', { testTimeout: 30_000 });
