import { probeBroker } from '../celeriac.js';
import { uniqueName } from '../config.js';
import { Recorder, type Scenario } from '../scenario-kit.js';
import { formatRatio, mib, ratio } from '../stats.js';
import type { Bar, Cell, TargetCheck } from '../types.js';
import { type DrainResult, type DrainSystem, drain, WARMUP_SHARE } from './drain.js';
import { caseLabel, type DrainCase, whyMissed } from './drain-why.js';

const SYSTEMS: readonly DrainSystem[] = ['Celeriac', 'BullMQ', 'bee-queue', 'Celery'];
/** Results not kept: Celeriac's `ignoreResult` against BullMQ's `removeOnComplete`. */
const DROPPED_SYSTEMS: readonly DrainSystem[] = ['Celeriac', 'BullMQ'];
/** The systems the targets compare, measured in rounds. */
const ROUNDED: ReadonlySet<DrainSystem> = new Set(['Celeriac', 'BullMQ']);
const CASES: readonly DrainCase[] = [
  { concurrency: 1, processes: 1, results: 'kept' },
  { concurrency: 1, processes: 4, results: 'kept' },
  { concurrency: 100, processes: 1, results: 'kept' },
  { concurrency: 100, processes: 4, results: 'kept' },
  { concurrency: 1, processes: 1, results: 'dropped' },
  { concurrency: 100, processes: 1, results: 'dropped' },
  { concurrency: 100, processes: 4, results: 'dropped' },
];
/** The cases a target is set on: Celeriac ÷ BullMQ at least this. */
function wanted(c: DrainCase): number | null {
  if (c.concurrency === 100) return 2;
  return c.processes === 1 ? 1.25 : null;
}

const keyOf = (system: DrainSystem, c: DrainCase) => `${system}/${c.concurrency}/${c.processes}/${c.results}`;
const groupOf = (c: DrainCase) => `c=${c.concurrency}, ${c.processes} proc`;
const systemsOf = (c: DrainCase) => (c.results === 'kept' ? SYSTEMS : DROPPED_SYSTEMS);

function taskCount(
  sizes: { drainC1: number; drainC100: number; drainCeleryC1: number; drainCeleryC100: number },
  system: DrainSystem,
  c: DrainCase,
): number {
  if (system === 'Celery') return c.concurrency === 1 ? sizes.drainCeleryC1 : sizes.drainCeleryC100;
  return c.concurrency === 1 ? sizes.drainC1 : sizes.drainC100;
}

/** Scenario 2: a pre-filled queue drained by worker processes, no-op task, results stored or not kept. */
export const workerThroughputScenario: Scenario = {
  id: 'worker-throughput',
  title: '2. Worker throughput, no-op task (Redis)',
  async run(ctx) {
    const rec = new Recorder(ctx.log);
    const { sizes } = ctx.config;
    const method =
      `A fresh queue is pre-filled, then drained by 1 or 4 worker processes (separate Node processes of this bench; ` +
      `Celery: \`celery worker --pool threads\` processes) with concurrency 1 or 100 each, started together once all are connected. ` +
      `Results stored: Celeriac with the Redis result backend; BullMQ keeping completed jobs with their return value; ` +
      `bee-queue keeping jobs, result published; Celery with its Redis result backend. Results not kept: Celeriac tasks sent with ` +
      `\`ignoreResult\` (the worker still has its result backend), BullMQ jobs added with \`removeOnComplete\`. Rate = completions over the window from the ` +
      `${Math.round(WARMUP_SHARE * 100)}% mark to the last completion (timestamps taken at completion). ` +
      `Tasks per run: c=1 ${sizes.drainC1.toLocaleString('en-US')}, c=100 ${sizes.drainC100.toLocaleString('en-US')} ` +
      `(Celery ${sizes.drainCeleryC1.toLocaleString('en-US')} / ${sizes.drainCeleryC100.toLocaleString('en-US')}).` +
      (sizes.ratioRounds > 1
        ? ` Where a target is set (c=1 with 1 process, every c=100 case), Celeriac and BullMQ run ${sizes.ratioRounds} alternating rounds on fresh queues and the median run is shown (its RSS, CPU and command counts too).`
        : '');
    const probe = await probeBroker(ctx.config.redisUrl, uniqueName(ctx.config, 'probe'));
    const runs = new Map<string, DrainResult[]>();
    for (const c of CASES) {
      const rounds = wanted(c) !== null ? sizes.ratioRounds : 1;
      for (let round = 0; round < rounds; round++) {
        for (const system of systemsOf(c)) {
          if (round > 0 && !ROUNDED.has(system)) continue;
          const label =
            `${system} ${caseLabel(c)}` +
            (rounds > 1 && ROUNDED.has(system) ? ` (round ${round + 1} of ${rounds})` : '');
          if (system === 'Celeriac' && probe) {
            if (round === 0) rec.skipped.push(`${label}: ${probe}`);
            continue;
          }
          const queue = uniqueName(
            ctx.config,
            'drain',
            system,
            `c${c.concurrency}`,
            `p${c.processes}`,
            c.results,
            `r${round}`,
          );
          const r = await rec.attempt(label, () =>
            drain(ctx, system, queue, taskCount(sizes, system, c), c.concurrency, c.processes, c.results),
          );
          if (r) {
            const key = keyOf(system, c);
            runs.set(key, [...(runs.get(key) ?? []), r]);
            rec.keep(r.rate);
            if (r.failed) rec.notes.push(`${label}: ${r.failed} task(s) failed`);
          }
        }
      }
    }
    // A whole run, not an average: its RSS, CPU and command counts belong to the rate shown.
    const results = new Map<string, DrainResult>();
    for (const [key, list] of runs) {
      const sorted = [...list].sort((a, b) => a.rate - b.rate);
      results.set(key, sorted[Math.floor((sorted.length - 1) / 2)] as DrainResult);
    }
    const get = (s: DrainSystem, c: DrainCase) => results.get(keyOf(s, c));
    const rows: Cell[][] = [];
    const droppedRows: Cell[][] = [];
    const rssRows: Cell[][] = [];
    const bars: Bar[] = [];
    const droppedBars: Bar[] = [];
    for (const c of CASES) {
      const systems = systemsOf(c);
      const rates = systems.map((s) => get(s, c)?.rate ?? null);
      systems.forEach((s, k) => {
        const v = rates[k];
        if (v != null)
          (c.results === 'kept' ? bars : droppedBars).push({ group: groupOf(c), series: s, value: v });
      });
      if (c.results === 'kept') {
        const [ours, bull, bee, celery] = rates;
        rows.push([
          groupOf(c),
          ...rates,
          formatRatio(ratio(ours, bull)),
          formatRatio(ratio(ours, bee)),
          formatRatio(ratio(ours, celery)),
        ]);
      } else {
        const [ours, bull] = rates;
        droppedRows.push([groupOf(c), ours ?? null, bull ?? null, formatRatio(ratio(ours, bull))]);
      }
      rssRows.push([
        `${groupOf(c)}, results ${c.results === 'kept' ? 'stored' : 'not kept'}`,
        ...['Celeriac', 'BullMQ', 'bee-queue'].map((s) => {
          const r = get(s as DrainSystem, c);
          return r ? mib(r.peakRss) : null;
        }),
      ]);
    }
    for (const c of CASES) {
      const r = get('Celeriac', c);
      // `drain/<c>/<p>`: results stored, as the Redis-ceiling scenario compares.
      if (r && c.results === 'kept') ctx.shared.set(`drain/${c.concurrency}/${c.processes}`, r.rate);
    }
    const targeted = CASES.filter((c) => wanted(c) !== null);
    const cmdRows: Cell[][] = [];
    const cpuRows: Cell[][] = [];
    for (const c of targeted)
      for (const system of systemsOf(c)) {
        const r = get(system, c);
        if (c.processes === 1) {
          const cmds = r?.commands;
          cmdRows.push([
            system,
            caseLabel(c),
            cmds ? cmds.total : null,
            cmds
              ? cmds.top
                  .slice(0, 6)
                  .map(([cmd, n]) => `${cmd} ${n.toFixed(2)}`)
                  .join(', ')
              : '',
          ]);
        }
        const cpu = r?.cpu;
        cpuRows.push([
          system,
          caseLabel(c),
          r ? 1e6 / r.rate : null,
          cpu?.workerUsPerTask ?? null,
          cpu?.redisUsPerTask ?? null,
          cpu?.workerCoreShare == null ? null : cpu.workerCoreShare * 100,
        ]);
      }
    const targets: TargetCheck[] = targeted.map((c) => {
      const want = wanted(c) ?? 1;
      const ours = get('Celeriac', c);
      const bull = get('BullMQ', c);
      const r = ratio(ours?.rate, bull?.rate);
      const peer = c.results === 'kept' ? 'BullMQ (completed jobs kept)' : 'BullMQ with removeOnComplete';
      const name = `Worker throughput ${caseLabel(c)}${c.results === 'dropped' ? ' (ignoreResult)' : ''} ≥ ${want}× ${peer}`;
      if (!ours || !bull || !Number.isFinite(r))
        return { name, held: null, detail: 'not measured in this run' };
      const held = r >= want;
      return {
        name,
        held,
        detail: `${formatRatio(r)} (${Math.round(ours.rate).toLocaleString('en-US')} vs ${Math.round(bull.rate).toLocaleString('en-US')} tasks/s)${held ? '' : `; ${whyMissed(c, ours, bull)}`}`,
      };
    });
    return {
      id: this.id,
      title: this.title,
      method,
      tables: [
        {
          title: 'Results stored',
          columns: [
            'concurrency × processes',
            'Celeriac (tasks/s)',
            'BullMQ',
            'bee-queue',
            'Celery',
            '÷ BullMQ',
            '÷ bee-queue',
            '÷ Celery',
          ],
          rows,
        },
        {
          title: 'Results not kept (Celeriac `ignoreResult`, BullMQ `removeOnComplete`)',
          columns: ['concurrency × processes', 'Celeriac (tasks/s)', 'BullMQ', '÷ BullMQ'],
          rows: droppedRows,
        },
        {
          title: 'Peak RSS of one worker process (MiB)',
          columns: ['case', 'Celeriac', 'BullMQ', 'bee-queue'],
          rows: rssRows,
          digits: [undefined, 1, 1, 1],
        },
        {
          title:
            'Redis commands per task, 1 process (INFO commandstats over the drain; the whole server, so other clients add a little)',
          columns: ['system', 'case', 'commands per task', 'most frequent (per task)'],
          rows: cmdRows,
          digits: [undefined, undefined, 2],
        },
        {
          title:
            "Where a task's time goes, in the cases a target is set on (wall: 1 / rate; worker processes: their own CPU time from start to stop; Redis: INFO cpu over the drain). Worker CPU share: CPU time of each worker process (GC and compiler threads included) over the drain, as a share of one core",
          columns: [
            'system',
            'case',
            'wall (µs/task)',
            'worker CPU (µs/task)',
            'Redis CPU (µs/task)',
            'worker CPU (% of one core, all threads)',
          ],
          rows: cpuRows,
          digits: [undefined, undefined, 1, 1, 1, 0],
        },
      ],
      charts: [
        {
          kind: 'bar',
          title: 'Worker throughput, results stored (tasks/s, higher is better)',
          unit: 'tasks/s',
          bars,
        },
        {
          kind: 'bar',
          title: 'Worker throughput, results not kept (tasks/s, higher is better)',
          unit: 'tasks/s',
          bars: droppedBars,
        },
      ],
      targets,
      notes: rec.notes,
      numbers: rec.numbers,
      skipped: rec.skipped,
    };
  },
};
