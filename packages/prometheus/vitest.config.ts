import { celeriacProject } from '../../vitest.shared.js';

export default celeriacProject('prometheus', { testTimeout: 30_000 });
