import { celeriacProject } from '../../vitest.shared.js';

export default celeriacProject('worker-app', { testTimeout: 30_000 });
