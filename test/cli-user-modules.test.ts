import { randomUUID } from 'node:crypto';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, runCli, startCli } from './cli-helpers.js';

const redis = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const core = fileURLToPath(new URL('../packages/core', import.meta.url));

// A project of the user's own outside the workspace, with its own copy of @celeriac/core (not the
// CLIs' copy): the tasks and contracts modules are named relative to its folder.
const TASKS = `
import { defineTask, RetryAfterError } from '@celeriac/core';
import { implement } from '@celeriac/core/worker';
import { add } from './contracts.mjs';

let first = true;
export const tasks = [
  implement(add, ({ x, y }) => {
    // Thrown from this project's copy of core: the worker must still read it as a retry.
    if (first) { first = false; throw new RetryAfterError('once more', 10); }
    return x + y;
  }),
];
`;
const CONTRACTS = `
import { defineTask } from '@celeriac/core';

const numbers = {
  '~standard': {
    version: 1,
    vendor: 'own',
    validate: (v) =>
      typeof v?.x === 'number' && typeof v?.y === 'number' ? { value: v } : { issues: [{ message: 'x and y must be numbers' }] },
  },
};
const number = { '~standard': { version: 1, vendor: 'own', validate: (v) => ({ value: v }) } };
export const add = defineTask({ name: 'own.add', input: numbers, output: number, defaults: { retry: { max: 2 } } });
`;

let project: string;

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'celeriac-user-modules-'));
  const copy = join(project, 'node_modules/@celeriac/core');
  mkdirSync(copy, { recursive: true });
  cpSync(join(core, 'package.json'), join(copy, 'package.json'));
  cpSync(join(core, 'dist'), join(copy, 'dist'), { recursive: true });
  // The copy needs core's own dependencies next to it, as an install would put them.
  const manifest = JSON.parse(readFileSync(join(core, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  for (const dep of Object.keys(manifest.dependencies ?? {})) {
    const target = join(project, 'node_modules', dep);
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(realpathSync(join(core, 'node_modules', dep)), target);
  }
  writeFileSync(join(project, 'package.json'), '{ "type": "module" }\n');
  mkdirSync(join(project, 'src'));
  writeFileSync(join(project, 'src/tasks.mjs'), TASKS);
  writeFileSync(join(project, 'src/contracts.mjs'), CONTRACTS);
  writeFileSync(join(project, 'src/tasks.ts'), 'export const tasks: unknown[] = [];\n');
});

afterAll(() => rmSync(project, { recursive: true, force: true }));

describe('modules the user names on the command line', () => {
  it('the worker asks for --tasks instead of running demo tasks nobody asked for', async () => {
    const { code, stdout } = await runCli(cliPath('worker'), ['--broker', 'memory://'], {
      CELERIAC_TASKS: '',
    });
    expect(code).toBe(2);
    expect(stdout).toContain('pass --tasks <module>');
    expect(stdout).not.toContain('celeriac worker ready');
  });

  it('resolves --tasks and --contracts from the current directory; a module with its own core copy works', async () => {
    const queue = `user-modules-${randomUUID().slice(0, 8)}`;
    const env = { CELERIAC_BROKER_URL: redis, CELERIAC_RESULT_BACKEND: redis };
    const worker = startCli(cliPath('worker'), ['--tasks', 'src/tasks.mjs', '--queue', queue], env, project);
    try {
      await worker.waitFor('celeriac worker ready', 30_000);
      expect(worker.output()).toContain('"tasks":["own.add"]');
      const cli = (args: string[]) => runCli(cliPath('cli'), [...args, '--queue', queue], env, project);

      const refused = await cli(['enqueue', 'own.add', '{"x":"2"}', '--contracts', './src/contracts.mjs']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('x and y must be numbers');

      const sum = await cli([
        'enqueue',
        'own.add',
        '{"x":2,"y":3}',
        '--contracts',
        './src/contracts.mjs',
        '--wait',
      ]);
      expect(sum.stderr).toBe('');
      expect(sum.stdout.trim()).toBe('5');
    } finally {
      worker.child.kill('SIGTERM');
      expect(await worker.exited()).toBe(0);
    }
    expect(worker.output()).toMatch(/"retried":1\b/);
  });

  it('a .ts tasks module on a Node without type stripping fails with the fixes named', async () => {
    const { code, stdout } = await runCli(
      cliPath('worker'),
      ['--broker', 'memory://', '--tasks', './src/tasks.ts'],
      {},
      project,
    );
    expect(code).toBe(2);
    if ((process.features as { typescript?: unknown }).typescript) {
      // This Node strips types: the module loads and is found to export no implementation.
      expect(stdout).toContain('exports no task implementations');
    } else {
      expect(stdout).toContain('cannot run TypeScript files');
      expect(stdout).toContain('--import tsx');
    }
  });

  it('names the folder it looked in when a tasks module is missing', async () => {
    const { code, stdout } = await runCli(
      cliPath('worker'),
      ['--broker', 'memory://', '--tasks', './src/nope.mjs'],
      {},
      project,
    );
    expect(code).toBe(2);
    expect(stdout).toContain(`looked from ${realpathSync(project)}`);
  });
});
