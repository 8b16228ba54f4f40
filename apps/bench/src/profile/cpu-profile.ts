import { readFile } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The parts of a V8 `.cpuprofile` this module reads. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    hitCount?: number;
  }[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

/** Self time of one function, with its place in the TypeScript source when a source map says. */
export interface HotSpot {
  readonly name: string;
  /** `packages/…/src/file.ts:line` for our code, else the module or `(native)`. */
  readonly where: string;
  readonly selfMs: number;
  readonly share: number;
}

/** Self time per kind of code: ours, each dependency, Node internals, GC, idle. */
export interface ProfileSummary {
  readonly totalMs: number;
  readonly categories: readonly { readonly name: string; readonly ms: number; readonly share: number }[];
  /** Our functions by self time, largest first. */
  readonly ours: readonly HotSpot[];
}

const maps = new Map<string, SourceMap | null>();

async function sourceMapFor(file: string): Promise<SourceMap | null> {
  if (!maps.has(file)) {
    try {
      maps.set(file, new SourceMap(JSON.parse(await readFile(`${file}.map`, 'utf8'))));
    } catch {
      maps.set(file, null);
    }
  }
  return maps.get(file) ?? null;
}

function category(url: string, name: string): string {
  if (name === '(idle)') return 'idle';
  if (name === '(garbage collector)') return 'garbage collection';
  if (name === '(program)') return 'V8 / native (program)';
  if (!url) return 'native';
  if (url.startsWith('node:')) return 'Node internals';
  const pkg = /\/packages\/([^/]+)\//.exec(url);
  if (pkg && !url.includes('/node_modules/')) return `@celeriac/${pkg[1]}`;
  const dep = /\/node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (dep?.[1]) return dep[1];
  if (url.includes('/apps/bench/')) return 'bench harness';
  return 'other';
}

/** Reads a `.cpuprofile` and sums self time per category and per function of our packages. */
export async function summarizeProfile(file: string, repoRoot: string): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const samples = profile.samples?.length ?? 0;
  const totalHits = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0) || samples || 1;
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const msPerHit = totalMs / totalHits;
  const categories = new Map<string, number>();
  const ours = new Map<string, { name: string; where: string; hits: number }>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (!hits) continue;
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    const cat = category(url, name);
    categories.set(cat, (categories.get(cat) ?? 0) + hits);
    if (!cat.startsWith('@celeriac/')) continue;
    const path = url.startsWith('file:') ? fileURLToPath(url) : url;
    let where = `${relative(repoRoot, path)}:${lineNumber + 1}`;
    const map = await sourceMapFor(path);
    const entry = map?.findEntry(lineNumber, columnNumber) as
      | { originalSource?: string; originalLine?: number }
      | undefined;
    if (entry?.originalSource && entry.originalLine !== undefined) {
      // Source map paths are relative to the map's own folder.
      const src = entry.originalSource.startsWith('file:')
        ? fileURLToPath(entry.originalSource)
        : resolvePath(dirname(path), entry.originalSource);
      where = `${relative(repoRoot, src)}:${entry.originalLine + 1}`;
    }
    const key = `${name}@${where}`;
    const o = ours.get(key) ?? { name, where, hits: 0 };
    o.hits += hits;
    ours.set(key, o);
  }
  const busy = totalHits - (categories.get('idle') ?? 0) || 1;
  return {
    totalMs,
    categories: [...categories]
      .sort((a, b) => b[1] - a[1])
      .map(([name, hits]) => ({
        name,
        ms: hits * msPerHit,
        share: name === 'idle' ? Number.NaN : hits / busy,
      })),
    ours: [...ours.values()]
      .sort((a, b) => b.hits - a.hits)
      .map((o) => ({ name: o.name, where: o.where, selfMs: o.hits * msPerHit, share: o.hits / busy })),
  };
}
