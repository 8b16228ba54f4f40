import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources through this export condition, so tests
// never need a build. The rest of the list keeps Vite's defaults for everything else.
const conditions = ['@celeriac/source', 'node', 'import', 'module', 'default'];

/** The shared vitest project config of every package. */
export function celeriacProject(name: string, test: NonNullable<UserWorkspaceConfig['test']> = {}) {
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: conditions } },
    test: { name, include: ['test/**/*.test.ts', 'src/**/*.test.ts'], ...test },
  });
}
