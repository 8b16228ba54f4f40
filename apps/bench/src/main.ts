#!/usr/bin/env node
// Runs the benchmark scenarios side by side with the peers and writes the report and charts.
// usage: celeriac-bench [--quick] [--only id,id] [--out-dir dir] [--no-profile]
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeError } from './celeriac.js';
import { loadConfig } from './config.js';
import { machineFacts } from './machine.js';
import { cleanRun, openRedis } from './redis-tools.js';
import { renderReport } from './report/markdown.js';
import { renderChart } from './report/svg-chart.js';
import { notRun, type ScenarioContext } from './scenario-kit.js';
import { SCENARIOS } from './scenarios/index.js';
import type { ScenarioResult } from './types.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

interface Args {
  quick: boolean;
  only: string[] | null;
  outDir: string | null;
  profile: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, only: null, outDir: null, profile: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!v) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') args.quick = true;
    else if (a.startsWith('--only')) args.only = value().split(',');
    else if (a.startsWith('--out-dir')) args.outDir = resolve(value());
    else if (a === '--no-profile') args.profile = false;
    else if (a === '-h' || a === '--help') {
      console.log('usage: celeriac-bench [--quick] [--only id,id] [--out-dir dir] [--no-profile]');
      console.log(`scenarios: ${SCENARIOS.map((s) => s.id).join(', ')}, profile`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

/** The smoke check of quick mode: every scenario ran and produced finite, positive numbers. */
function problems(results: readonly ScenarioResult[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    if (r.notRun) out.push(`${r.id}: not run: ${r.notRun}`);
    else if (r.numbers.length === 0) out.push(`${r.id}: produced no numbers`);
    else if (r.numbers.some((n) => !Number.isFinite(n) || n <= 0))
      out.push(`${r.id}: produced a non-finite or non-positive number`);
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const config = loadConfig(args.quick ? 'quick' : 'full');
  const started = Date.now();
  const log = (line: string) =>
    console.error(`[bench +${Math.round((Date.now() - started) / 1000)}s] ${line}`);
  const outDir = args.outDir ?? (args.quick ? join(REPO_ROOT, 'bench-results', 'quick') : REPO_ROOT);
  const chartDir = args.outDir || args.quick ? outDir : join(REPO_ROOT, 'docs', 'bench');
  const command = `./scripts/bench${args.quick ? ' --quick' : ''}${args.only ? ` --only ${args.only.join(',')}` : ''}`;
  log(`run ${config.runId}, ${config.mode} mode; report → ${relative(REPO_ROOT, outDir) || '.'}`);
  const redis = openRedis(config.redisUrl);
  const ctx: ScenarioContext = { config, redis, log, shared: new Map() };
  const machine = await machineFacts(config);
  const selected = SCENARIOS.filter((s) => !args.only || args.only.includes(s.id));
  const results: ScenarioResult[] = [];
  const appendix: string[] = [];
  try {
    for (const s of selected) {
      log(`${s.title}`);
      const t0 = Date.now();
      try {
        results.push(await s.run(ctx));
      } catch (error) {
        log(`${s.id}: failed: ${describeError(error)}`);
        results.push(notRun(s.id, s.title, '', `failed: ${describeError(error)}`));
      } finally {
        await cleanRun(redis, config.runId).catch(() => {});
      }
      log(`${s.id} done in ${Math.round((Date.now() - t0) / 1000)} s`);
    }
    if (args.profile && (!args.only || args.only.includes('profile'))) {
      const { profileHotPaths } = await import('./profile/hot-paths.js');
      const section = await profileHotPaths(ctx).catch(
        (e: unknown) => `## Hot spots\n\nProfiling failed: ${describeError(e)}`,
      );
      appendix.push(section);
      await cleanRun(redis, config.runId).catch(() => {});
    }
  } finally {
    redis.disconnect();
  }
  await mkdir(chartDir, { recursive: true });
  const chartLinks = new Map<string, string[]>();
  for (const r of results) {
    const links: string[] = [];
    for (const [i, chart] of r.charts.entries()) {
      const file = join(chartDir, `${r.id}${i ? `-${i + 1}` : ''}.svg`);
      await writeFile(file, renderChart(chart));
      links.push(relative(outDir, file));
    }
    chartLinks.set(r.id, links);
  }
  const report = renderReport({
    command,
    mode: config.mode,
    machine: {
      ...machine,
      'Load average at end (1/5/15 min)': loadavg()
        .map((v) => v.toFixed(2))
        .join(' / '),
    },
    scenarios: results,
    chartLinks,
    durationMs: Date.now() - started,
    appendix,
  });
  const reportFile = join(outDir, 'BENCHMARKS.md');
  await mkdir(outDir, { recursive: true });
  await writeFile(reportFile, report);
  await mkdir(join(REPO_ROOT, 'bench-results'), { recursive: true });
  await writeFile(
    join(REPO_ROOT, 'bench-results', `results-${config.mode}.json`),
    JSON.stringify({ command, machine, results }, null, 2),
  );
  log(`wrote ${relative(REPO_ROOT, reportFile)} in ${Math.round((Date.now() - started) / 1000)} s`);
  const bad = problems(results);
  for (const b of bad) console.error(`bench: ${b}`);
  if (bad.length) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 2;
});
