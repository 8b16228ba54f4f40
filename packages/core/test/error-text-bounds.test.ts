import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { boundText, boundTraceback, MAX_ERROR_TEXT_CHARS } from '../src/bounded-text.js';
import { defineTask } from '../src/contract.js';
import type { RemoteTaskError } from '../src/errors.js';
import { MemoryResultBackend } from '../src/memory/memory-backend.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { createClient } from '../src/producer/index.js';
import {
  type CeleryEvent,
  createWorker,
  type EventTransport,
  implement,
  sendCeleryEvents,
} from '../src/worker/index.js';

// Item 8 (the runner's part) of the reliability issue: a thrown 20 MB message is stored, and sent
// in events, cut to a bound that says how long it was.

const loud = defineTask({ name: 'bounds.loud', input: z.object({}), output: z.number() });
const TWENTY_MB = 20 * 1024 * 1024;

describe('error text', () => {
  it('a 20 MB error message is stored and sent in events cut to 64 Ki characters, with its length', async () => {
    const sent: CeleryEvent[] = [];
    const transport: EventTransport = {
      publishEvent: async (_, body) => void sent.push(...(Array.isArray(body) ? body : [body])),
      close: async () => {},
    };
    const broker = new MemoryBroker();
    const backend = new MemoryResultBackend();
    const worker = createWorker({
      broker,
      backend,
      tasks: [
        implement(loud, () => {
          throw new Error('x'.repeat(TWENTY_MB));
        }),
      ],
    });
    await worker.start();
    const stop = sendCeleryEvents(worker, transport, { freq: 60 });
    const handle = await createClient({ broker, backend }).enqueue(loud, {});
    const error = await handle.result({ timeoutMs: 10_000 }).then(
      () => undefined,
      (e: unknown) => e as RemoteTaskError,
    );
    await stop();
    await worker.stop();

    const meta = await backend.get(handle.id);
    const stored = JSON.stringify(meta);
    expect(stored.length).toBeLessThan(3 * MAX_ERROR_TEXT_CHARS);
    expect(error?.remote.excMessage).toContain(`[truncated: ${TWENTY_MB} characters in all]`);
    expect(error?.remote.traceback).toContain('characters cut of');
    // The frames after the message are kept.
    expect(error?.remote.traceback).toMatch(/at .*error-text-bounds\.test\.ts/);
    const failed = sent.find((e) => e.type === 'task-failed');
    expect(String(failed?.exception).length).toBeLessThan(MAX_ERROR_TEXT_CHARS + 200);
    expect(String(failed?.traceback).length).toBeLessThan(MAX_ERROR_TEXT_CHARS + 200);
  });

  it('never cuts a surrogate pair in two', () => {
    const text = `${'a'.repeat(9)}😀${'b'.repeat(20)}`;
    const cut = boundText(text, 10);
    expect(cut.startsWith(`${'a'.repeat(9)}…`)).toBe(true);
    const tail = boundTraceback(`${'a'.repeat(20)}${'😀'.repeat(10)}`, 11);
    expect(tail).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  });
});
