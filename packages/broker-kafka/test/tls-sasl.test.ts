import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { CeleriacError, defineTask, MemoryResultBackend } from '@celeriac/core';
import { createClient } from '@celeriac/core/producer';
import { createWorker, implement } from '@celeriac/core/worker';
import { requireService } from '@celeriac/test-services';
import { testMessage, uniqueName } from '@celeriac/testkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KafkaBroker, parseKafkaUrl } from '../src/index.js';
import { testTiming } from './kafka-env.js';

// The shared test broker's secured listeners (scripts/lib/kafka.sh): TLS only, and SASL/SCRAM over
// TLS. Its test CA and the SCRAM user's password are made at setup, in the TLS directory.
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const tlsDir = process.env.CELERIAC_KAFKA_TLS_DIR ?? join(repoRoot, '.services/kafka/tls');
const sslBroker = process.env.CELERIAC_KAFKA_SSL_BROKERS ?? '127.0.0.1:9094';
const saslBroker = process.env.CELERIAC_KAFKA_SASL_SSL_BROKERS ?? '127.0.0.1:9095';
const caFile = join(tlsDir, 'ca.pem');
const user = 'celeriac';

const up =
  (await requireService('kafka TLS listener', `kafka://${sslBroker}`)) &&
  (await requireService('kafka SASL_SSL listener', `kafka://${saslBroker}`));
const material = existsSync(caFile) && existsSync(join(tlsDir, 'scram-password'));
if (up && !material && process.env.CI === 'true')
  throw new Error(`[celeriac:SERVICE_MISSING] kafka test certificates are missing in ${tlsDir}`);
const password = material ? readFileSync(join(tlsDir, 'scram-password'), 'utf8').trim() : '';

/** A Standard Schema that accepts what the test sends (this package's tests do without zod). */
function trusted<T>() {
  const types = undefined as { input: T; output: T } | undefined;
  return {
    '~standard': {
      version: 1 as const,
      vendor: 'test',
      types,
      validate: (value: unknown) => ({ value: value as T }),
    },
  };
}
const echo = defineTask({ name: 'tls.echo', input: trusted<{ text: string }>(), output: trusted<string>() });

/** Publishes one task on `url`'s broker, runs it on a worker over the same URL, returns the result. */
async function roundTrip(url: string): Promise<string> {
  const options = { ...parseKafkaUrl(url), ...testTiming };
  const queue = uniqueName('tls');
  const backend = new MemoryResultBackend();
  const producerBroker = new KafkaBroker(options);
  const workerBroker = new KafkaBroker(options);
  const worker = createWorker({
    broker: workerBroker,
    backend,
    queues: [queue],
    tasks: [implement(echo, async ({ text }) => `${text} back`)],
  });
  try {
    await worker.start();
    const client = createClient({ broker: producerBroker, backend });
    const handle = await client.enqueue(echo, { text: 'over tls' }, { queue });
    return await handle.result({ timeoutMs: 30_000 });
  } finally {
    await worker.stop({ graceMs: 1_000 });
    await Promise.allSettled([producerBroker.close(), workerBroker.close()]);
  }
}

/** Everything the process printed while `fn` ran (kafkajs logs through the console). */
async function captureOutput<T>(
  fn: () => Promise<T>,
): Promise<{ output: string; result: PromiseSettledResult<T> }> {
  const lines: string[] = [];
  const record = (...args: unknown[]) => lines.push(args.map((a) => inspect(a, { depth: 8 })).join(' '));
  const spies = [
    vi.spyOn(console, 'log').mockImplementation(record),
    vi.spyOn(console, 'error').mockImplementation(record),
    vi.spyOn(console, 'warn').mockImplementation(record),
    vi.spyOn(console, 'info').mockImplementation(record),
  ];
  const writes = [process.stdout, process.stderr].map((stream) =>
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    }),
  );
  try {
    const [result] = await Promise.allSettled([fn()]);
    return { output: lines.join('\n'), result: result as PromiseSettledResult<T> };
  } finally {
    for (const spy of [...spies, ...writes]) spy.mockRestore();
  }
}

/** The error, its causes and their stacks, as text. */
function errorText(error: unknown): string {
  const parts: string[] = [];
  for (let e = error, i = 0; e && i < 8; i++) {
    parts.push(inspect(e, { depth: 8, showHidden: true }));
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}

describe('Kafka URL security parameters', () => {
  it('reads TLS, the CA file, SASL mechanism and percent-encoded credentials', () => {
    const options = parseKafkaUrl(
      `kafka://app%40corp:p%3Ass%2Fw@k1:9095,k2?ssl=true&saslMechanism=SCRAM-SHA-512&sslCaFile=${encodeURIComponent(caFile)}`,
    );
    expect(options.brokers).toEqual(['k1:9095', 'k2:9092']);
    expect(options.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'app@corp', password: 'p:ss/w' });
    if (material) expect(options.ssl).toEqual({ ca: readFileSync(caFile, 'utf8') });
  });

  it('never quotes the password of a URL it refuses', () => {
    const secret = `pw-${randomBytes(8).toString('hex')}`;
    for (const url of [
      `kafka://app:${secret}@k1:9092/extra/path`,
      `kafka://app:${secret}@?ssl=true`,
      `kafka://app:${secret}@k1:9092?saslMechanism=kerberos`,
      `kafka://app:${secret}@k1:9092`,
      `kafka://app:${secret}@k1:9092?saslMechanism=plain`,
    ]) {
      let error: unknown;
      try {
        new KafkaBroker(parseKafkaUrl(url));
      } catch (e) {
        error = e;
      }
      expect(CeleriacError.is(error, 'CONFIG_INVALID'), url).toBe(true);
      expect(errorText(error)).not.toContain(secret);
    }
  });

  it('keeps the password out of printed options and brokers', () => {
    const secret = `pw-${randomBytes(8).toString('hex')}`;
    const broker = new KafkaBroker({
      brokers: ['k1:9095'],
      ssl: true,
      sasl: { mechanism: 'scram-sha-256', username: 'app', password: secret },
    });
    expect(inspect(broker, { depth: 12 })).not.toContain(secret);
    expect(JSON.stringify((broker as unknown as { options: unknown }).options)).not.toContain(secret);
  });
});

describe.skipIf(!up || !material)('Kafka over TLS and SASL/SCRAM (real broker)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('runs a task over TLS, trusting the test CA', async () => {
    expect(await roundTrip(`kafka://${sslBroker}?sslCaFile=${encodeURIComponent(caFile)}`)).toBe(
      'over tls back',
    );
  });

  it.each(['scram-sha-256', 'scram-sha-512'])('runs a task over SASL_SSL with %s', async (mechanism) => {
    const url = `kafka://${user}:${encodeURIComponent(password)}@${saslBroker}?sslCaFile=${encodeURIComponent(caFile)}&saslMechanism=${mechanism}`;
    const { output, result } = await captureOutput(() => roundTrip(url));
    expect(result).toEqual({ status: 'fulfilled', value: 'over tls back' });
    expect(output).not.toContain(password);
  });

  it('refuses a wrong password with CONFIG_INVALID, quoting neither password anywhere', async () => {
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    const url = `kafka://${user}:${wrong}@${saslBroker}?sslCaFile=${encodeURIComponent(caFile)}&saslMechanism=scram-sha-256&logLevel=debug`;
    const broker = new KafkaBroker({ ...parseKafkaUrl(url), ...testTiming });
    const { output, result } = await captureOutput(() =>
      broker.publish({ queue: uniqueName('tls'), message: testMessage() }),
    ).finally(() => broker.close());
    expect(result.status).toBe('rejected');
    const error = result.status === 'rejected' ? result.reason : undefined;
    expect(CeleriacError.is(error, 'CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toContain(`user ${user}`);
    for (const text of [errorText(error), output, inspect(broker, { depth: 12 })]) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(password);
    }
    // The debug log did run (so the check above looked at real output).
    expect(output).toContain('kafkajs');
  });

  it('refuses a broker certificate from an unknown CA with CONFIG_INVALID', async () => {
    const broker = new KafkaBroker({ ...parseKafkaUrl(`kafka://${sslBroker}?ssl=true`), ...testTiming });
    const { result } = await captureOutput(() => broker.depth(uniqueName('tls'))).finally(() =>
      broker.close(),
    );
    expect(result.status).toBe('rejected');
    const error = result.status === 'rejected' ? result.reason : undefined;
    expect(CeleriacError.is(error, 'CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/certificate is not trusted/);
  });
});
