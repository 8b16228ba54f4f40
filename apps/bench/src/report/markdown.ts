import type { MachineFacts } from '../machine.js';
import { formatNumber } from '../stats.js';
import type { ScenarioResult, Table } from '../types.js';

/** Everything the report is made of. */
export interface ReportInput {
  readonly command: string;
  readonly mode: 'quick' | 'full';
  readonly machine: MachineFacts;
  readonly scenarios: readonly ScenarioResult[];
  /** Chart file per scenario id and index, as linked from the report (relative path). */
  readonly chartLinks: ReadonlyMap<string, string[]>;
  readonly durationMs: number;
  /** Extra sections (e.g. the CPU profile of our hot paths), already in Markdown. */
  readonly appendix: readonly string[];
}

function cell(v: unknown, digits: number | undefined): string {
  if (v === null || v === undefined) return 'not run';
  if (typeof v === 'number') return formatNumber(v, digits);
  return String(v).replace(/\|/g, '\\|');
}

/** A Markdown table. */
export function markdownTable(t: Table): string {
  const head = `| ${t.columns.join(' | ')} |`;
  // Right-align columns that hold numbers, left-align text columns.
  const numeric = t.columns.map((_, i) =>
    t.rows.some((r) => typeof r[i] === 'number' || /^[\d.,]+[%×]$/.test(String(r[i] ?? ''))),
  );
  const sep = `|${t.columns.map((_, i) => (i > 0 && numeric[i] ? '---:' : '---')).join('|')}|`;
  const body = t.rows.map((r) => `| ${r.map((v, i) => cell(v, t.digits?.[i])).join(' | ')} |`);
  return [...(t.title ? [`**${t.title}**`, ''] : []), head, sep, ...body].join('\n');
}

function verdict(held: boolean | null): string {
  return held === null ? 'not measured' : held ? '**held**' : '**missed**';
}

/** Renders BENCHMARKS.md. */
export function renderReport(input: ReportInput): string {
  const out: string[] = [];
  out.push(
    '# Benchmarks',
    '',
    `Every number below was measured by one run of \`${input.command}\` (${input.mode} mode, ${Math.round(input.durationMs / 60_000)} min), ` +
      'with Celeriac and its peers side by side on the same services, one after another. Nothing here is edited by hand: ' +
      'rerun the command to reproduce it. Ratios are Celeriac ÷ peer measured in the same run; for throughput above 1 means Celeriac is faster, ' +
      'for latency below 1 means Celeriac is faster.',
    '',
    ...(input.mode === 'quick'
      ? [
          '> Quick mode: every scenario at a fraction of its size, to check that it runs. The numbers are too small to judge ' +
            'the targets by; the verdicts below are indicative only.',
          '',
        ]
      : []),
    '## Targets',
    '',
    '| target | verdict | measured |',
    '|---|---|---|',
  );
  for (const s of input.scenarios) {
    if (s.notRun && s.targets.length === 0) continue;
    for (const t of s.targets)
      out.push(`| ${t.name} | ${verdict(t.held)} | ${t.detail.replace(/\|/g, '\\|')} |`);
  }
  const notRun = input.scenarios.filter((s) => s.notRun);
  if (notRun.length) {
    out.push('');
    for (const s of notRun) out.push(`- ${s.title}: **not run**: ${s.notRun}`);
  }
  out.push('', '## Machine and versions', '', '| | |', '|---|---|');
  for (const [k, v] of Object.entries(input.machine)) out.push(`| ${k} | ${v} |`);
  out.push(
    '',
    'Everything (Redis, RabbitMQ, Kafka, the producers and the worker processes) shares the same machine, so worker ' +
      'processes compete with the services for CPU: absolute numbers are a floor, the ratios are the point.',
  );
  for (const s of input.scenarios) {
    out.push('', `## ${s.title}`, '', s.method, '');
    if (s.notRun) {
      out.push(`**Not run**: ${s.notRun}`);
      continue;
    }
    for (const t of s.tables) out.push(markdownTable(t), '');
    for (const link of input.chartLinks.get(s.id) ?? []) out.push(`![${s.title}](${link})`, '');
    if (s.skipped.length) {
      out.push('Not run in this scenario:', '');
      for (const k of s.skipped) out.push(`- ${k}`);
      out.push('');
    }
    if (s.notes.length) {
      for (const n of s.notes) out.push(`- ${n}`);
      out.push('');
    }
  }
  for (const a of input.appendix) out.push('', a);
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
