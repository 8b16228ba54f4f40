import { celeriacProject } from '../../vitest.shared.js';

export default celeriacProject('testkit', { testTimeout: 30_000 });
