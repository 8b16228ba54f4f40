import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
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
    for (const file of sources(join(root, 'apps/cli/src')))
      for (const b of closure(file).bare) bare.add(b);
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
});
