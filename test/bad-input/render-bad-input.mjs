// The "Bad input" section of RELIABILITY.md, from the bad-input suite's own output
// (test/bad-input/results/<broker>.{inputs,property}.json). Used by test/chaos/render-reliability.mjs.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const num = (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US'));
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

const BAD_INPUT_BROKERS = ['memory', 'redis', 'rabbitmq', 'kafka'];

function loadBadInput(kind) {
  const dir = join(here, 'results');
  return BAD_INPUT_BROKERS.map((b) => join(dir, `${b}.${kind}.json`))
    .filter((f) => existsSync(f))
    .map((f) => JSON.parse(readFileSync(f, 'utf8')));
}

function outcomeCell(o) {
  if (!o) return '—';
  const state = o.state ? `, ${o.state} stored` : '';
  switch (o.outcome) {
    case 'refused':
      return `refused at publish (\`${o.code}\`)`;
    case 'dead-lettered':
      return `dead-lettered \`${o.code}\`${state}${o.note ? ` (${o.note})` : ''}`;
    case 'ran':
      return `ran: ${o.state}${o.excType ? ` (${o.excType})` : ''}${o.note ? `, ${o.note}` : ''}`;
    case 'not applicable':
      return `n/a: ${o.note}`;
    default:
      return `**${o.outcome}**`;
  }
}

/** The section's Markdown; says so when the suite has not run yet. */
export function badInputSection() {
  const tables = loadBadInput('inputs');
  const props = loadBadInput('property');
  const out = [
    '## Bad input',
    '',
    'What the bad-input suite (`test/bad-input/`) measured: each input below goes through a real worker',
    'over each broker and must end refused at publish (the sender sees the error), dead-lettered with a',
    'reason code (and, where the message has a task id, a FAILURE stored for its caller), or run to a final',
    'state — never held, never lost. Then a property-based test (fast-check) feeds random messages through',
    'publish → fetch → settle → recovery: envelopes with random headers and bodies, unicode with lone',
    'surrogates, nesting past 1,000 levels, and raw bytes that are no message at all.',
    '`pnpm exec vitest run --project e2e bad-input` writes the results; this renderer reads them.',
    '',
  ];
  if (tables.length === 0 && props.length === 0) {
    out.push('No bad-input results yet.', '');
    return out.join('\n');
  }
  if (tables.length > 0) {
    out.push(
      `| input | ${tables.map((t) => t.broker).join(' | ')} |`,
      `| --- | ${tables.map(() => '---').join(' | ')} |`,
    );
    for (const [i, row] of tables[0].outcomes.entries()) {
      const cells = tables.map((t) =>
        outcomeCell(t.outcomes.find((o) => o.input === row.input) ?? t.outcomes[i]),
      );
      out.push(`| ${row.description} | ${cells.join(' | ')} |`);
    }
    out.push(
      '',
      `Left waiting or held on the broker afterwards: ${tables.map((t) => `${t.broker} ${num(t.leftOnBroker)}`).join(', ')}. ` +
        `Measured ${tables.map((t) => `${t.broker} ${t.startedAt.slice(0, 16).replace('T', ' ')} UTC`).join(', ')}.`,
      '',
    );
  }
  if (props.length > 0) {
    out.push(
      'Random messages (each run: up to six messages, each acknowledged, dead-lettered, requeued or left',
      'unsettled at random, then the consumer closed or crashed and the rest fetched again; **held** must be 0;',
      '**duplicates** are settled messages delivered again after recovery, which at-least-once allows: a',
      'settlement a crash cut off, or on Kafka records behind an unsettled one in their partition):',
      '',
      '| broker | runs | messages | raw bytes | acked | dead-lettered | recovered | crashes | duplicates | refused at publish | held | seed | time |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const p of props) {
      out.push(
        `| ${p.broker} | ${num(p.runs)} | ${num(p.messages)} | ${num(p.raw)} | ${num(p.acked)} | ${num(p.deadLettered)} | ` +
          `${num(p.recovered)} | ${num(p.crashes)} | ${num(p.duplicates)} | ${num(p.refusedAtPublish)} | ${num(p.held)} | ${p.seed} | ${secs(p.durationMs)} |`,
      );
    }
    out.push('');
    for (const p of props.filter((x) => x.refusals?.length > 0)) {
      out.push(`Refused at publish on ${p.broker}: ${p.refusals.map((r) => `\`${r}\``).join('; ')}.`, '');
    }
  }
  return out.join('\n');
}
