import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { defineTask } from '@celeriac/core';
import { decodeTaskMessage, encodeBody, encodeJson } from '@celeriac/core/adapter';
import { SIGNATURE_HEADER, signingInterceptor } from '@celeriac/core/producer';
import { createWorker, implement, type TaskEventMap, type Worker } from '@celeriac/core/worker';
import { requireCelery } from '@celeriac/test-services';
import { waitFor } from '@celeriac/testkit';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { badInputTarget } from './bad-input/targets.js';

/**
 * Python Celery producers signing with the `celeriac_signing` module of this repository: a worker
 * that requires signatures runs what they send over real brokers and refuses the unsigned, the
 * unknown-key and the altered; and the signed text is the same on both sides for random messages.
 */

const python = requireCelery();
const redis = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const brokerUrls = { redis, rabbitmq: process.env.CELERIAC_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672' };
const pythonDir = fileURLToPath(new URL('../python/', import.meta.url));
// The module is used from its source tree, as `pip install ./python` would make it importable.
const env = { ...process.env, PYTHONPATH: `${pythonDir}src`, PYTHONIOENCODING: 'utf-8' };

function runPython(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { cwd: `${pythonDir}tests`, env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`python exited ${code}: ${err}`)),
    );
    child.stdin.end(input ?? '');
  });
}

const lines = (out: string) =>
  out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown);

const anything = {
  '~standard': { version: 1, vendor: 'signing-test', validate: (value: unknown) => ({ value }) },
} as const;
const numbers = { ...anything, shape: { x: null, y: null } } as const;
const echo = defineTask({ name: 'pysign.echo', input: anything, output: anything });
const add = defineTask({ name: 'pysign.add', input: numbers, output: anything });
const fail = defineTask({ name: 'pysign.fail', input: anything, output: anything });
const flaky = defineTask({ name: 'pysign.flaky', input: anything, output: anything });

const k1 = { id: 'k1', secret: 'first signing secret of 32 bytes' };
const k2 = { id: 'k2', secret: 'second signing secret, 32 bytes.' };

interface Check {
  check: string;
  ok: boolean;
  value?: unknown;
  type?: string;
  error?: string;
}

describe.skipIf(!python)('Python producers sign what TypeScript workers require', () => {
  for (const name of ['redis', 'rabbitmq'] as const) {
    const url = brokerUrls[name];
    const target = badInputTarget(name);
    const workers: Worker[] = [];
    afterAll(async () => {
      await Promise.all(workers.map((w) => w.stop({ graceMs: 1_000 })));
      await target.close();
    });

    it(`on ${name}: signed calls of every shape run; unsigned, unknown-key and altered ones are refused`, async (ctx) => {
      if (!(await target.available())) return ctx.skip();
      const { createResultBackend } = await import('@celeriac/backend-redis');
      const backend = createResultBackend(redis);
      const queue = `pysign-${name}-${randomUUID().slice(0, 8)}`;
      await target.declare(queue);
      const runs = new Map<string, number>();
      const worker = createWorker({
        broker: target.open(),
        backend,
        queues: [queue],
        concurrency: 4,
        signing: { keys: [k1, k2], sign: 'k2' },
        tasks: [
          implement(echo, (input) => input),
          implement(add, (input) => {
            const { x, y } = input as { x: number; y: number };
            return x + y;
          }),
          implement(fail, (input) => {
            throw new Error(String(input));
          }),
          implement(flaky, (_input, c) => {
            runs.set(c.id, (runs.get(c.id) ?? 0) + 1);
            if (runs.get(c.id) === 1) throw new Error('once');
            return 'second time';
          }),
        ],
      });
      workers.push(worker);
      const rejected: TaskEventMap['task-rejected'][] = [];
      worker.on('task-rejected', (e) => rejected.push(e));
      await worker.start();

      const out = await runPython(['producer.py', url, redis, queue]);
      const checks = Object.fromEntries((lines(out) as Check[]).map((c) => [c.check, c]));
      for (const check of ['ints', 'floats', 'unicode', 'nested', 'types', 'old-key'])
        expect(checks[check], check).toMatchObject({ ok: true });
      expect(checks.types?.value).toMatchObject({
        naive: '2024-01-02 03:04:05.678000+00:00',
        aware: '2024-01-01 21:34:05.678000+00:00',
        day: '2024-01-02',
        uuid: '12345678-1234-5678-1234-567812345678',
        decimal: '1.10',
        text: "b'raw bytes'",
        binary: "b'\\xff\\x00'",
      });
      expect(checks.kwargs).toMatchObject({ ok: true, value: 42 });
      expect(checks.countdown).toMatchObject({ ok: true, value: 2 });
      expect(checks.eta).toMatchObject({ ok: true, value: 4 });
      expect(checks.expires).toMatchObject({ ok: true, value: 6 });
      expect(checks['retries-header']).toMatchObject({ ok: true, value: 8 });
      expect(checks['time-limits']).toMatchObject({ ok: true, value: 10 });
      expect(checks['worker-retry']).toMatchObject({ ok: true, value: 'second time' });
      expect(checks.chain).toMatchObject({ ok: true, value: 113 });
      expect(checks.link).toMatchObject({ ok: true, value: [5, 5] });
      expect(checks['link-error']).toMatchObject({ ok: true });
      const [failedId, errbackGot] = (checks['link-error']?.value ?? []) as string[];
      expect(errbackGot).toBe(failedId);
      expect(checks['old-key']).toMatchObject({ ok: true, value: 12 });

      expect(checks['refuses-pickle']).toMatchObject({ ok: false, type: 'ValueError' });
      expect(checks['refuses-short-secret']).toMatchObject({
        ok: false,
        error: expect.stringContaining('16 bytes'),
      });
      expect(checks['refuses-unknown-signer']).toMatchObject({
        ok: false,
        error: expect.stringContaining('k9'),
      });

      const refused = checks.refused?.value as Record<'unsigned' | 'unknown-key' | 'tampered', string>;
      await waitFor(() => rejected.length >= 3, { timeoutMs: 20_000, what: 'three refusals' });
      expect(rejected.map((r) => r.reason.code)).toEqual(Array(3).fill('SIGNATURE_REJECTED'));
      const reasons = rejected.map((r) => r.reason.message);
      expect(reasons.find((r) => r.includes(refused.unsigned))).toContain('unsigned');
      expect(reasons.find((r) => r.includes(refused['unknown-key']))).toContain('unknown key k3');
      expect(reasons.find((r) => r.includes(refused.tampered))).toContain('does not match its signature');
      for (const id of Object.values(refused)) expect(await backend.get(id)).toBeNull();
      await backend.close();
    }, 120_000);
  }

  it('random messages signed in Python verify in TypeScript, and the other way round', async () => {
    // Python → TypeScript: the signature Python sent is the one TypeScript computes for the decoded message.
    const seed = Date.now() % 1_000_000;
    const cases = lines(await runPython(['cases.py', 'sign', '400', String(seed)])) as {
      headers: string;
      body: string;
      signed: string;
    }[];
    expect(cases).toHaveLength(400);
    const resign = signingInterceptor({ keys: [k2] });
    const mismatches: string[] = [];
    for (const c of cases) {
      const message = decodeTaskMessage({ headers: JSON.parse(c.headers), body: c.body });
      const sent = message.headers[SIGNATURE_HEADER];
      await resign.publish?.({ queue: 'q', message }, async () => {});
      if (message.headers[SIGNATURE_HEADER] !== sent) mismatches.push(`seed ${seed}: ${c.signed}`);
    }
    expect(mismatches).toEqual([]);

    // TypeScript → Python: what the TypeScript client signs, Python's verify_message accepts.
    const value = fc.oneof(
      fc.jsonValue(),
      fc.date({ noInvalidDate: true, min: new Date('0001-01-02'), max: new Date('9999-12-30') }),
      fc.uint8Array({ maxLength: 8 }),
      fc.string({ unit: 'binary' }),
      // Lone surrogates, which JSON escapes and Python keeps.
      fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) }),
      // kombu tags the TypeScript side only ever decodes: decimals, UUIDs, dates and times.
      // Decimals as kombu writes them (Python's str), which survive a Python decode and re-encode.
      fc.record({
        __type__: fc.constant('decimal'),
        __value__: fc
          .tuple(
            fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
            fc.option(fc.stringMatching(/^[1-9]\d{0,7}$/)),
          )
          .map(([n, frac]) => (frac ? `${n}.${frac}` : `${n}`)),
      }),
      fc.record({
        __type__: fc.constant('uuid'),
        __value__: fc.record({ hex: fc.uuid().map((u) => u.replaceAll('-', '')) }),
      }),
      fc.record({ __type__: fc.constantFrom('date', 'time'), __value__: fc.string() }),
    );
    const samples = fc.sample(
      fc.record({ args: fc.array(value, { maxLength: 3 }), kwargs: fc.dictionary(fc.string(), value) }),
      { numRuns: 300, seed },
    );
    const sign = signingInterceptor({ keys: [k1] });
    const wire: string[] = [];
    for (const { args, kwargs } of samples) {
      const message = decodeTaskMessage({
        headers: { task: 'pysign.echo', id: randomUUID(), timelimit: [1.5, null], retries: 1 },
        body: encodeJson([args, kwargs, null]),
      });
      await sign.publish?.({ queue: 'q', message }, async () => {});
      wire.push(JSON.stringify({ headers: message.headers, body: encodeBody(message) }));
    }
    const verdicts = lines(await runPython(['cases.py', 'verify'], `${wire.join('\n')}\n`));
    expect(verdicts).toEqual(Array(samples.length).fill(null));
  }, 120_000);
});
