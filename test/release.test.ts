import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from './cli-helpers.js';
import {
  cleanEnv,
  copyRepo,
  dockerEngine,
  output,
  type Publishable,
  publishablePackages,
  type Ran,
  repoRoot,
  run,
} from './release-helpers.js';

// The release as a user meets it: the pending changesets applied (so the versions are the ones
// `pnpm release` would publish), the packages packed by pnpm (workspace: and catalog: ranges
// replaced), installed with npm into a project of its own outside the workspace, type-checked and
// run. The work tree is copied first: versioning rewrites it and packing builds every package.
const redis = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const fixture = join(repoRoot, 'test/fixtures/release-project');
const bin = (name: string) => join(repoRoot, 'node_modules/.bin', name);

let work: string;
let copy: string;
let tarballs: string;
let project: string;
let packages: Publishable[];
const packed = new Map<string, string>();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'celeriac-release-'));
  copy = join(work, 'repo');
  tarballs = join(work, 'tarballs');
  project = join(work, 'project');
  copyRepo(copy);
  packages = publishablePackages(copy);
  let install = await run('pnpm', ['install', '--frozen-lockfile', '--offline'], copy);
  // A work tree mid-change (a dependency added, the lockfile not yet updated) still gets checked.
  if (install.code !== 0)
    install = await run('pnpm', ['install', '--no-frozen-lockfile', '--prefer-offline'], copy);
  expect(install.code, output(install)).toBe(0);
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }), 120_000);

describe('the release flow', () => {
  it('pnpm version-packages consumes the changesets without forcing a major on any package', async () => {
    const ran = await run('pnpm', ['version-packages'], copy);
    expect(ran.code, output(ran)).toBe(0);
    const left = readdirSync(join(copy, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
    expect(left).toEqual([]);
    for (const p of publishablePackages(copy)) {
      expect(Number(p.version.split('.')[0]), `${p.name}@${p.version}`).toBe(0);
      const before = packages.find((q) => q.name === p.name)?.version;
      if (before !== p.version) statSync(join(copy, p.dir, 'CHANGELOG.md'));
    }
  }, 180_000);

  it('pnpm publish -r --dry-run builds (prepack) and would publish every public package, nothing private', async () => {
    const ran = await run('pnpm', ['publish', '-r', '--dry-run', '--no-git-checks'], copy);
    expect(ran.code, output(ran)).toBe(0);
    const published = [...`${ran.stdout}\n${ran.stderr}`.matchAll(/^\+ (@celeriac\/[a-z-]+)@/gm)].map(
      (m) => m[1],
    );
    expect(published.sort()).toEqual(packages.map((p) => p.name).sort());
  }, 600_000);

  it('pnpm pack leaves no workspace: or catalog: range, and ships dist and the LICENSE', async () => {
    for (const p of packages) {
      const ran = await run(
        'pnpm',
        ['pack', '--config.ignore-scripts=true', '--pack-destination', tarballs],
        join(copy, p.dir),
      );
      expect(ran.code, output(ran)).toBe(0);
      const file = readdirSync(tarballs).find((f) => f.startsWith(`${p.name.slice(1).replace('/', '-')}-`));
      expect(file, p.name).toBeDefined();
      packed.set(p.name, join(tarballs, file as string));
    }
    for (const [name, file] of packed) {
      const list = await run('tar', ['-tzf', file], work);
      expect(list.stdout, name).toContain('package/LICENSE');
      expect(list.stdout, name).toMatch(/^package\/dist\/.+\.js$/m);
      const manifest = await run('tar', ['-xzOf', file, 'package/package.json'], work);
      expect(manifest.stdout, name).not.toMatch(/"(workspace|catalog):/);
    }
  }, 120_000);

  it('publint and attw (ESM-only profile) find nothing wrong in any tarball', async () => {
    expect(packed.size).toBe(packages.length);
    for (const [name, file] of packed) {
      const lint = await run(bin('publint'), ['run', file, '--strict'], work);
      expect(lint.code, `${name}\n${output(lint)}`).toBe(0);
      expect(lint.stdout, name).toContain('All good');
      const types = await run(bin('attw'), [file, '--profile', 'esm-only', '--format', 'ascii'], work);
      expect(types.code, `${name}\n${output(types)}`).toBe(0);
    }
  }, 180_000);
});

describe('a fresh npm project on the packed packages', () => {
  let tsc: Ran;

  beforeAll(async () => {
    expect(packed.size, 'the packing test must run first').toBe(packages.length);
    cpSync(fixture, project, { recursive: true });
    writeFileSync(
      join(project, 'package.json'),
      `${JSON.stringify({ name: 'celeriac-smoke', private: true, type: 'module' }, null, 2)}\n`,
    );
    const install = await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        ...packed.values(),
        'typescript@5.9.3',
        '@types/node@^20.19.0',
        'zod@^4.1.0',
      ],
      project,
    );
    expect(install.code, output(install)).toBe(0);
    tsc = await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], project);
  }, 300_000);

  it('type-checks a producer + worker program under nodenext, libraries included', () => {
    expect(tsc.code, output(tsc)).toBe(0);
  });

  it('runs it on the in-memory broker and on Redis: a typed result comes back', async () => {
    const memory = await run(process.execPath, ['dist/main.js', 'memory://'], project);
    expect(memory.stdout, output(memory)).toContain('sum 5');
    const onRedis = await run(
      process.execPath,
      ['dist/main.js', redis, `smoke-${randomUUID().slice(0, 8)}`],
      project,
    );
    expect(onRedis.stdout, output(onRedis)).toContain('sum 5');
    expect(onRedis.code).toBe(0);
  }, 60_000);

  it('require() works from CommonJS, types included', async () => {
    const ran = await run(process.execPath, ['dist/require-check.cjs'], project);
    expect(ran.stdout, output(ran)).toContain('required smoke.cjs');
  });

  it('npx celeriac-worker --help, then a real task through the installed CLIs', async () => {
    const help = await run('npx', ['--no', '--', 'celeriac-worker', '--help'], project);
    expect(help.code, output(help)).toBe(0);
    expect(help.stdout).toContain('--tasks <module>');

    const queue = `smoke-cli-${randomUUID().slice(0, 8)}`;
    const env = { CELERIAC_BROKER_URL: redis, CELERIAC_RESULT_BACKEND: redis };
    // The bin itself (what npx runs), so SIGTERM reaches the worker with no npm process between.
    const worker = startCli(
      join(project, 'node_modules/@celeriac/worker/dist/main.js'),
      ['--tasks', './dist/tasks.js', '--queue', queue],
      env,
      project,
    );
    try {
      await worker.waitFor('celeriac worker ready', 30_000);
      const sum = await run(
        'npx',
        [
          '--no',
          '--',
          'celeriac',
          'enqueue',
          'smoke.add',
          '{"x":2,"y":3}',
          '--contracts',
          './dist/contracts.js',
          '--queue',
          queue,
          '--wait',
        ],
        project,
        cleanEnv(env),
      );
      expect(sum.stdout.trim(), output(sum)).toBe('5');
    } finally {
      worker.child.kill('SIGTERM');
      expect(await worker.exited()).toBe(0);
    }
  }, 120_000);

  const docker = dockerEngine();
  // The one visible skip: a machine without a Docker engine cannot build images.
  it.skipIf(!docker)(
    'the worker Dockerfile builds with the packed packages and runs a task',
    async () => {
      const context = join(work, 'docker');
      cpSync(join(repoRoot, 'apps/worker/Dockerfile'), join(context, 'Dockerfile'));
      for (const file of packed.values()) cpSync(file, join(context, file.split('/').pop() as string));
      const tag = `celeriac-worker-smoke:${process.pid}`;
      const build = await run(
        'docker',
        ['build', '-t', tag, '--build-arg', 'PACKAGES=/tmp/celeriac/*.tgz zod@^4.1.0', context],
        work,
      );
      expect(build.code, output(build)).toBe(0);
      const help = await run('docker', ['run', '--rm', tag, '--help'], work);
      expect(help.stdout, output(help)).toContain('--tasks <module>');
      const queue = `smoke-docker-${randomUUID().slice(0, 8)}`;
      const name = `celeriac-smoke-${process.pid}`;
      const started = await run(
        'docker',
        [
          'run',
          '-d',
          '--rm',
          '--name',
          name,
          '--network',
          'host',
          '-v',
          `${join(project, 'dist')}:/app/tasks:ro`,
          '-e',
          'CELERIAC_TASKS=/app/tasks/tasks.js',
          tag,
          '--broker',
          redis,
          '--queue',
          queue,
        ],
        work,
      );
      expect(started.code, output(started)).toBe(0);
      try {
        const sum = await run(
          'npx',
          ['--no', '--', 'celeriac', 'enqueue', 'smoke.add', '{"x":2,"y":3}', '--queue', queue, '--wait'],
          project,
          cleanEnv({ CELERIAC_BROKER_URL: redis }),
        );
        expect(sum.stdout.trim(), output(sum)).toBe('5');
      } finally {
        await run('docker', ['stop', name], work);
      }
    },
    600_000,
  );
});
