import { probeBroker } from '../celeriac.js';
import { uniqueName } from '../config.js';
import { Recorder, type Scenario } from '../scenario-kit.js';
import { formatRatio, mib, ratio } from '../stats.js';
import type { Bar, Cell, TargetCheck } from '../types.js';
import { type DrainResult, type DrainSystem, drain, WARMUP_SHARE } from './drain.js';

const SYSTEMS: readonly DrainSystem[] = ['Celeriac', 'BullMQ', 'bee-queue', 'Celery'];
/** The systems the c=100 targets compare, measured in rounds. */
const ROUNDED: ReadonlySet<DrainSystem> = new Set(['Celeriac', 'BullMQ']);
const CONFIGS = [
  { concurrency: 1, processes: 1 },
  { concurrency: 1, processes: 4 },
  { concurrency: 100, processes: 1 },
  { concurrency: 100, processes: 4 },
] as const;

/** Scenario 2: a pre-filled queue drained by worker processes, no-op task, results stored. */
export const workerThroughputScenario: Scenario = {
  id: 'worker-throughput',
  title: '2. Worker throughput, no-op task, results stored (Redis)',
  async run(ctx) {
    const rec = new Recorder(ctx.log);
    const { sizes } = ctx.config;
    const method =
      `A fresh queue is pre-filled, then drained by 1 or 4 worker processes (separate Node processes of this bench; ` +
      `Celery: \`celery worker --pool threads\` processes) with concurrency 1 or 100 each, started together once all are connected. ` +
      `Results are stored (Celeriac: Redis result backend; BullMQ: completed jobs kept with their return value; ` +
      `bee-queue: jobs kept, result published; Celery: Redis result backend). Rate = completions over the window from the ` +
      `${Math.round(WARMUP_SHARE * 100)}% mark to the last completion (timestamps taken at completion). ` +
      `Tasks per run: c=1 ${sizes.drainC1.toLocaleString('en-US')}, c=100 ${sizes.drainC100.toLocaleString('en-US')} ` +
      `(Celery ${sizes.drainCeleryC1.toLocaleString('en-US')} / ${sizes.drainCeleryC100.toLocaleString('en-US')}).` +
      (sizes.ratioRounds > 1
        ? ` At c=100, Celeriac and BullMQ run ${sizes.ratioRounds} alternating rounds on fresh queues and the median run is shown (its RSS and command counts too).`
        : '');
    const probe = await probeBroker(ctx.config.redisUrl, uniqueName(ctx.config, 'probe'));
    const runs = new Map<string, DrainResult[]>();
    for (const { concurrency, processes } of CONFIGS) {
      // The rows a target is set on run in alternating rounds; the median run is reported.
      const rounds = concurrency === 100 ? sizes.ratioRounds : 1;
      for (let round = 0; round < rounds; round++) {
        for (const system of SYSTEMS) {
          if (round > 0 && !ROUNDED.has(system)) continue;
          const label =
            `${system} c=${concurrency} × ${processes} process${processes > 1 ? 'es' : ''}` +
            (rounds > 1 && ROUNDED.has(system) ? ` (round ${round + 1} of ${rounds})` : '');
          if (system === 'Celeriac' && probe) {
            if (round === 0) rec.skipped.push(`${label}: ${probe}`);
            continue;
          }
          const count =
            system === 'Celery'
              ? concurrency === 1
                ? sizes.drainCeleryC1
                : sizes.drainCeleryC100
              : concurrency === 1
                ? sizes.drainC1
                : sizes.drainC100;
          const queue = uniqueName(
            ctx.config,
            'drain',
            system,
            `c${concurrency}`,
            `p${processes}`,
            `r${round}`,
          );
          const r = await rec.attempt(label, () => drain(ctx, system, queue, count, concurrency, processes));
          if (r) {
            const key = `${system}/${concurrency}/${processes}`;
            runs.set(key, [...(runs.get(key) ?? []), r]);
            rec.keep(r.rate);
            if (r.failed) rec.notes.push(`${label}: ${r.failed} task(s) failed`);
          }
        }
      }
    }
    // A whole run, not an average: its RSS and command counts belong to the rate shown.
    const results = new Map<string, DrainResult>();
    for (const [key, list] of runs) {
      const sorted = [...list].sort((a, b) => a.rate - b.rate);
      results.set(key, sorted[Math.floor((sorted.length - 1) / 2)] as DrainResult);
    }
    const rows: Cell[][] = [];
    const rssRows: Cell[][] = [];
    const bars: Bar[] = [];
    for (const { concurrency, processes } of CONFIGS) {
      const group = `c=${concurrency}, ${processes} proc`;
      const rs = SYSTEMS.map((s) => results.get(`${s}/${concurrency}/${processes}`));
      const rates = rs.map((r) => r?.rate ?? null);
      SYSTEMS.forEach((s, k) => {
        const v = rates[k];
        if (v != null) bars.push({ group, series: s, value: v });
      });
      const [ours, bull, bee, celery] = rates;
      rows.push([
        group,
        ...rates,
        formatRatio(ratio(ours, bull)),
        formatRatio(ratio(ours, bee)),
        formatRatio(ratio(ours, celery)),
      ]);
      rssRows.push([group, ...rs.slice(0, 3).map((r) => (r ? mib(r.peakRss) : null))]);
    }
    for (const [key, r] of results)
      if (key.startsWith('Celeriac/')) ctx.shared.set(`drain/${key.slice(9)}`, r.rate);
    const cmdRows: Cell[][] = SYSTEMS.map((system) => {
      const c = results.get(`${system}/100/1`)?.commands;
      return [
        system,
        c ? c.total : null,
        c
          ? c.top
              .slice(0, 6)
              .map(([cmd, n]) => `${cmd} ${n.toFixed(2)}`)
              .join(', ')
          : '',
      ];
    });
    const perTask = (s: DrainSystem) => results.get(`${s}/100/1`)?.commands?.total;
    const cpuOf = (s: DrainSystem, processes: number) => results.get(`${s}/100/${processes}`)?.cpu;
    const us = (v: number | null | undefined) => (v == null ? '?' : `${Math.round(v)} µs`);
    const why = (processes: number): string => {
      const parts: string[] = [];
      const a = perTask('Celeriac');
      const b = perTask('BullMQ');
      if (processes === 1 && a !== undefined && b !== undefined)
        parts.push(
          `Celeriac sent ${a.toFixed(1)} Redis commands per task vs BullMQ's ${b.toFixed(1)} (table below)`,
        );
      const ours = cpuOf('Celeriac', processes);
      const bull = cpuOf('BullMQ', processes);
      if (ours && bull)
        parts.push(
          `CPU per task, worker / Redis: Celeriac ${us(ours.workerUsPerTask)} / ${us(ours.redisUsPerTask)}, ` +
            `BullMQ ${us(bull.workerUsPerTask)} / ${us(bull.redisUsPerTask)}; ` +
            `each Celeriac worker process used ${ours.workerCoreShare == null ? '?' : Math.round(ours.workerCoreShare * 100)}% of one core (all its threads)`,
        );
      parts.push('see the worker profile in "Hot spots"');
      return parts.join('; ');
    };
    const cpuRows: Cell[][] = [];
    for (const processes of [1, 4])
      for (const system of SYSTEMS) {
        const c = cpuOf(system, processes);
        cpuRows.push([
          system,
          processes,
          c?.workerUsPerTask ?? null,
          c?.redisUsPerTask ?? null,
          c?.workerCoreShare == null ? null : c.workerCoreShare * 100,
        ]);
      }
    const targets: TargetCheck[] = [];
    for (const processes of [1, 4]) {
      const ours = results.get(`Celeriac/100/${processes}`)?.rate;
      const bull = results.get(`BullMQ/100/${processes}`)?.rate;
      const r = ratio(ours, bull);
      targets.push({
        name: `Worker throughput c=100, ${processes} process${processes > 1 ? 'es' : ''}, results stored ≥ 2× BullMQ`,
        held: Number.isFinite(r) ? r >= 2 : null,
        detail: Number.isFinite(r)
          ? `${formatRatio(r)} (${Math.round(ours ?? 0).toLocaleString('en-US')} vs ${Math.round(bull ?? 0).toLocaleString('en-US')} tasks/s)${r >= 2 ? '' : `; ${why(processes)}`}`
          : 'not measured in this run',
      });
    }
    return {
      id: this.id,
      title: this.title,
      method,
      tables: [
        {
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
          title: 'Peak RSS of one worker process (MiB)',
          columns: ['concurrency × processes', 'Celeriac', 'BullMQ', 'bee-queue'],
          rows: rssRows,
          digits: [undefined, 1, 1, 1],
        },
        {
          title:
            'Redis commands per task, c=100, 1 process (INFO commandstats over the drain; the whole server, so other clients add a little)',
          columns: ['system', 'commands per task', 'most frequent (per task)'],
          rows: cmdRows,
          digits: [undefined, 2],
        },
        {
          title:
            'CPU per task, c=100 (worker processes: their own CPU time from start to stop; Redis: INFO cpu over the drain). Worker CPU share: CPU time of each worker process (GC and compiler threads included) over the drain, as a share of one core',
          columns: [
            'system',
            'processes',
            'worker CPU (µs/task)',
            'Redis CPU (µs/task)',
            'worker CPU (% of one core, all threads)',
          ],
          rows: cpuRows,
          digits: [undefined, 0, 1, 1, 0],
        },
      ],
      charts: [
        {
          kind: 'bar',
          title: 'Worker throughput, results stored (tasks/s, higher is better)',
          unit: 'tasks/s',
          bars,
        },
      ],
      targets,
      notes: rec.notes,
      numbers: rec.numbers,
      skipped: rec.skipped,
    };
  },
};
