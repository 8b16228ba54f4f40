import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Manifest {
  name: string;
  private?: boolean;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** Every workspace package: its directory and its package.json. */
function workspacePackages(): { dir: string; manifest: Manifest }[] {
  const dirs = ['packages', 'apps', 'internal'].flatMap((group) =>
    readdirSync(join(root, group)).map((name) => join(root, group, name)),
  );
  return [...dirs, join(root, 'test')]
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({
      dir,
      manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest,
    }));
}

/** The `.ts` files under `dir`; test files too when `withTests`. */
function sources(dir: string, withTests = false): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p, withTests);
    return p.endsWith('.ts') && (withTests || !p.endsWith('.test.ts')) ? [p] : [];
  });
}

/** Every file reachable from `entry` through relative imports, plus the bare specifiers it imports. */
function closure(entry: string): { files: Set<string>; bare: Set<string> } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
      const spec = m[1] as string;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else bare.add(spec);
    }
  };
  visit(entry);
  return { files, bare };
}

describe('package boundaries', () => {
  it('the producer entry point of core reaches no worker module', () => {
    const { files } = closure(join(root, 'packages/core/src/producer/index.ts'));
    expect([...files].filter((f) => f.includes('/worker/'))).toEqual([]);
    expect(files.size).toBeGreaterThan(5);
  });

  it('the celeriac CLI imports no worker code', () => {
    const bare = new Set<string>();
    for (const file of sources(join(root, 'apps/cli/src'))) for (const b of closure(file).bare) bare.add(b);
    expect([...bare].filter((b) => b.includes('worker'))).toEqual([]);
    expect(bare).toContain('@celeriac/core/producer');
  });

  it('no adapter imports another adapter', () => {
    const adapters = readdirSync(join(root, 'packages')).filter((p) => /^(broker|backend)-/.test(p));
    for (const adapter of adapters) {
      const dir = join(root, 'packages', adapter, 'src');
      const imported = sources(dir).flatMap((f) => [...closure(f).bare]);
      const others = imported.filter(
        (s) => /^@celeriac\/(broker|backend)-/.test(s) && !s.startsWith(`@celeriac/${adapter}`),
      );
      expect(others, adapter).toEqual([]);
    }
    expect(adapters.length).toBeGreaterThan(0);
  });

  it('no published package needs a private one (test helpers such as @celeriac/test-services)', () => {
    const all = workspacePackages();
    const privates = new Set(all.filter((p) => p.manifest.private).map((p) => p.manifest.name));
    expect(privates).toContain('@celeriac/test-services');
    for (const { dir, manifest } of all.filter((p) => !p.manifest.private)) {
      const needed = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies });
      const imported = existsSync(join(dir, 'src'))
        ? sources(join(dir, 'src')).flatMap((f) => [...closure(f).bare])
        : [];
      const leaks = [...needed, ...imported].filter((name) =>
        privates.has(name.split('/').slice(0, 2).join('/')),
      );
      expect(leaks, manifest.name).toEqual([]);
    }
  });

  it("tests live in test/, never in a package's src/", () => {
    const misplaced = workspacePackages().flatMap(({ dir }) =>
      existsSync(join(dir, 'src'))
        ? sources(join(dir, 'src'), true).filter((f) => /\.test(-d)?\.ts$/.test(f))
        : [],
    );
    expect(misplaced).toEqual([]);
  });

  it('every adapter resolves its options with one name: resolveOptions in src/options.ts', () => {
    const adapters = readdirSync(join(root, 'packages')).filter((p) => /^(broker|backend)-/.test(p));
    for (const adapter of adapters) {
      const text = readFileSync(join(root, 'packages', adapter, 'src', 'options.ts'), 'utf8');
      expect(text, adapter).toMatch(/export function resolveOptions\(/);
    }
  });

  it('every adapter maps transport errors with one name: toCeleriacError(error, what) in src/errors.ts', () => {
    const adapters = readdirSync(join(root, 'packages')).filter((p) => /^(broker|backend)-/.test(p));
    for (const dir of [
      ...adapters.map((a) => join(root, 'packages', a)),
      join(root, 'internal/file-broker'),
    ]) {
      const text = readFileSync(join(dir, 'src', 'errors.ts'), 'utf8');
      expect(text, dir).toMatch(/export function toCeleriacError\(error: unknown, \w+: string/);
    }
    expect(adapters.length).toBeGreaterThan(3);
  });
});
