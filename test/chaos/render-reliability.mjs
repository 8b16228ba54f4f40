// Renders RELIABILITY.md from the chaos suite's own output (test/chaos/results/<mode>/<broker>.json).
// Run by scripts/chaos after the suite; `node test/chaos/render-reliability.mjs` renders again.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { badInputSection } from '../bad-input/render-bad-input.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const BROKERS = ['redis', 'rabbitmq', 'kafka'];
const MODES = [
  ['long', 'Long run', 'on demand: `./scripts/chaos` (`CELERIAC_CHAOS=long`)'],
  ['quick', 'Quick run', 'in every test run (`test/chaos/*.chaos.test.ts`)'],
];

const num = (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US'));
const secs = (ms) => (ms === null || ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`);

function load(mode) {
  const dir = join(here, 'results', mode);
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  return files
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')))
    .sort((a, b) => BROKERS.indexOf(a.broker) - BROKERS.indexOf(b.broker));
}

function summary(runs) {
  const all = runs.flatMap((r) => r.scenarios);
  const sum = (k) => all.reduce((n, s) => n + s[k], 0);
  const onlyPoison = runs.every(
    (r) =>
      r.deadLetters.found.every((f) => f.planted) &&
      r.deadLetters.found.length === r.deadLetters.planted.length,
  );
  const stuck = sum('stuck') + runs.reduce((n, r) => n + r.stuckAtEnd, 0);
  return (
    `**${num(sum('completed'))} of ${num(sum('submitted'))} tasks completed; lost ${num(sum('lost'))}, ` +
    `stuck ${num(stuck)}, duplicates ${num(sum('duplicates'))}; dead letters ${onlyPoison ? 'only the planted poison' : '**not only the planted poison**'}.**`
  );
}

function modeSection([, title, how], runs) {
  const c = runs[0].config;
  const total = runs.reduce((n, r) => n + r.scenarios.reduce((m, s) => m + s.submitted, 0), 0);
  const out = [
    `## ${title}: ${num(c.tasksPerScenario * 4)} tasks per broker`,
    '',
    `Run ${how}. ${c.workers} worker processes × concurrency ${c.concurrency}; each task sleeps ` +
      `${c.taskMs[0]}–${c.taskMs[1]} ms; ${num(c.tasksPerScenario)} tasks per scenario; ` +
      `${num(total)} tasks in all. Measured on ${runs[0].machine.cpus} CPUs, Node ${runs[0].machine.node}, ` +
      `${runs.map((r) => `${r.broker} ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC${r.machine.load === undefined ? '' : ` (load ${r.machine.load})`}`).join(', ')}.`,
    '',
    summary(runs),
    '',
    '| broker | scenario | submitted | completed | duplicates | reruns | lost | stuck | recovery | longest stall |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of runs) {
    for (const s of r.scenarios) {
      out.push(
        `| ${r.broker} | ${s.scenario} | ${num(s.submitted)} | ${num(s.completed)} | ${num(s.duplicates)} | ` +
          `${num(s.reruns)} | ${num(s.lost)} | ${num(s.stuck)} | ${secs(s.recoveryMs)} | ${secs(s.longestStallMs)} |`,
      );
    }
  }
  out.push('', 'Faults, per broker:', '');
  for (const r of runs) {
    out.push(`- **${r.broker}**: ${r.scenarios.map((s) => `${s.scenario}: ${s.fault}`).join('; ')}.`);
  }
  out.push(
    '',
    '| broker | dead letters found | all planted | state of the unknown task | workers started / killed / SIGTERMed | left on the broker at the end |',
    '| --- | --- | --- | --- | --- | ---: |',
  );
  for (const r of runs) {
    const d = r.deadLetters;
    const found = d.found.map((f) => f.code).join(', ') || 'none';
    const planted = d.found.every((f) => f.planted) && d.found.length === d.planted.length ? 'yes' : '**no**';
    const w = r.workers;
    out.push(
      `| ${r.broker} | ${found} | ${planted} | ${d.unknownTaskState ?? 'none'} | ${w.started} / ${w.killed} / ${w.terminated} | ${num(r.stuckAtEnd)} |`,
    );
  }
  out.push('');
  return out.join('\n');
}

const sections = MODES.map((m) => [m, load(m[0])]).filter(([, runs]) => runs.length > 0);
if (sections.length === 0) {
  console.error('no chaos results in test/chaos/results; run ./scripts/chaos first');
  process.exit(1);
}

const doc = `# Reliability

What the chaos suite (\`test/chaos/\`) measured: every task must end in exactly one final state its
caller can see, through worker crashes, broker restarts, frozen brokers and mass shutdowns, on
Redis, RabbitMQ and Kafka. This file is rendered from the suite's own output by
\`test/chaos/render-reliability.mjs\`; do not edit it by hand.

Each broker runs four scenarios one after another on one queue, with the same fleet of worker
processes (\`test/chaos/fixtures/chaos-worker.mjs\`, the built packages). A scenario submits a batch
of tasks, strikes while they run, and waits until every task has a final state in the Redis result
backend (which no fault touches):

- **kill-9**: a worker is killed with SIGKILL, and replaced; repeated.
- **broker-restart**: the broker is stopped and started again on its persisted data.
- **broker-pause**: the broker process is frozen with SIGSTOP past the clients' heartbeat or session
  timeouts, then resumed with SIGCONT (every connection drops or stalls).
- **mass-sigterm**: every worker gets SIGTERM at once (graceful stop), then a new fleet starts.

Before the first scenario, poison is planted: undecodable bytes and a message for a task no worker
implements.

Columns: **completed**, tasks whose final state is SUCCESS with their own result. **duplicates**,
handler runs that finished beyond the first (at-least-once delivery: a run whose outcome was not yet
acknowledged when the fault struck runs again). **reruns**, handler runs started beyond the first
(mostly runs cut short by a kill). **lost**, tasks without a final state when the scenario gave up
waiting. **stuck**, messages still unacknowledged or waiting on the broker once every task had its
final state. **recovery**, the worst over the scenario's faults of the time from the end of a fault
(the worker gone, the broker accepting connections again, SIGCONT sent, the old fleet gone) until every
task that was running when it struck had its final state and other tasks were reaching theirs again.
**longest stall**, the longest time in the scenario in which no task reached its final state.

${sections.map(([m, runs]) => modeSection(m, runs)).join('\n')}
${badInputSection()}`;

writeFileSync(join(root, 'RELIABILITY.md'), doc);
console.log(`RELIABILITY.md rendered from ${sections.map(([[m]]) => m).join(' and ')} results`);
