import {
  CeleriacError,
  type DeadLetter,
  MemoryResultBackend,
  READY_STATES,
  type ResultMeta,
} from '@celeriac/core';
import { createWorker, implement } from '@celeriac/core/worker';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { describe, expect, it } from 'vitest';
import { BAD_INPUTS, echo, type Sent } from './inputs.js';
import { type InputOutcome, writeInputResults } from './results.js';
import { RUNNER_LIMITS, RUNNER_TASKS } from './runner-inputs.js';
import { BAD_INPUT_BROKERS, type BadInputTarget, badInputTarget } from './targets.js';

/**
 * The bad-input table of RELIABILITY.md: each bad input goes to a real worker over each broker,
 * and ends refused at publish, dead-lettered with a reason code, or run to a final state its caller
 * can read — never held, never lost. The outcomes are written as JSON and rendered into the report.
 */

function excType(meta: ResultMeta | null): string | undefined {
  const result = meta?.result as { exc_type?: unknown } | null | undefined;
  return meta?.status === 'FAILURE' && typeof result?.exc_type === 'string' ? result.exc_type : undefined;
}

function outcomeOf(
  input: { key: string; description: string },
  sent: Sent,
  letters: readonly DeadLetter[],
  meta: ResultMeta | null,
): InputOutcome {
  const token = sent.id ?? sent.marker ?? '\u0000none';
  const letter = letters.find((d) => d.raw.includes(token));
  const state = meta && READY_STATES.has(meta.status) ? meta.status : undefined;
  const base = { input: input.key, description: input.description, state, excType: excType(meta) };
  if (letter) {
    const kept = Buffer.byteLength(letter.raw);
    const note =
      sent.size !== undefined && kept < sent.size
        ? `raw kept: first ${Math.round(kept / 1024)} of ${Math.round(sent.size / 1024)} KiB`
        : undefined;
    return { ...base, outcome: 'dead-lettered', code: letter.reason.code, note };
  }
  if (state) return { ...base, outcome: 'ran' };
  return { ...base, outcome: 'lost' };
}

async function runInputs(target: BadInputTarget): Promise<void> {
  const queue = uniqueName(`bad-input-${target.name}`);
  await target.declare(queue);
  const backend = new MemoryResultBackend();
  const worker = createWorker({
    broker: target.open(),
    backend,
    // The schema guarantees a string `text` (it carries no static types: no schema library here).
    tasks: [implement(echo, (input) => (input as { text: string }).text.length), ...RUNNER_TASKS],
    limits: RUNNER_LIMITS,
    queues: [queue],
    concurrency: 2,
  });
  let settled = 0;
  const done = new Set<string>();
  worker.on('task-rejected', (e) => {
    settled++;
    if (e.uuid) done.add(e.uuid);
  });
  for (const event of ['task-succeeded', 'task-failed'] as const) {
    worker.on(event, (e) => {
      settled++;
      done.add(e.uuid);
    });
  }
  await worker.start();
  const producer = target.open();
  const sent: { input: (typeof BAD_INPUTS)[number]; sent?: Sent; outcome?: InputOutcome }[] = [];
  try {
    for (const input of BAD_INPUTS) {
      const ctx = { target, broker: producer, queue, marker: uniqueName(`marker-${input.key}`) };
      const skip = input.skip?.(ctx);
      if (skip) {
        const outcome = { input: input.key, description: input.description, note: skip } as const;
        sent.push({ input, outcome: { ...outcome, outcome: 'not applicable' } });
        continue;
      }
      const before = settled;
      try {
        const s = await input.send(ctx);
        sent.push({ input, sent: s });
        // One input at a time: the next goes once the worker has settled this one.
        await waitFor(() => (s.id && done.has(s.id)) || settled > before, {
          timeoutMs: 30_000,
          what: `the outcome of ${input.key} on ${target.name}`,
        });
      } catch (error) {
        if (!CeleriacError.is(error)) throw error;
        const outcome = { input: input.key, description: input.description, code: error.code } as const;
        sent.push({ input, outcome: { ...outcome, outcome: 'refused' } });
      }
    }
  } finally {
    await worker.stop({ graceMs: 5_000 });
  }
  const letters = await producer.readDeadLetters(queue, 1_000);
  const outcomes: InputOutcome[] = [];
  for (const s of sent) {
    if (s.outcome) outcomes.push(s.outcome);
    else if (s.sent) {
      const meta = s.sent.id ? await backend.get(s.sent.id) : null;
      const outcome = outcomeOf(s.input, s.sent, letters, meta);
      const note = s.input.note?.(meta);
      outcomes.push(note ? { ...outcome, note: outcome.note ? `${outcome.note}; ${note}` : note } : outcome);
    }
  }
  // A `__proto__` key in the input must never reach Object.prototype.
  const clean = (Object.prototype as Record<string, unknown>).polluted === undefined;
  for (const [i, o] of outcomes.entries()) {
    if (o.input === 'proto-key' && o.outcome === 'ran' && clean)
      outcomes[i] = { ...o, note: 'Object.prototype untouched' };
  }
  const leftOnBroker = (await producer.depth(queue)) + (await target.held(queue));
  writeInputResults({ broker: target.name, startedAt: new Date().toISOString(), outcomes, leftOnBroker });

  // Every input has an outcome its sender or caller can see; nothing waits on the broker.
  expect(outcomes.filter((o) => o.outcome === 'lost')).toEqual([]);
  for (const o of outcomes.filter((x) => x.outcome === 'dead-lettered')) expect(o.code).toMatch(/^[A-Z_]+$/);
  expect(leftOnBroker).toBe(0);
  expect(clean).toBe(true);
}

for (const name of BAD_INPUT_BROKERS) {
  const target = badInputTarget(name);
  const up = await target.available();
  describe.skipIf(!up)(`bad input on ${name}`, () => {
    it('ends every input refused at publish, dead-lettered with a code, or in a final state', async () => {
      try {
        await runInputs(target);
      } finally {
        await target.close();
      }
    }, 240_000);
  });
}
