import { backendSchemes } from '@celeriac/backend-redis';
import { brokerSchemes as kafkaSchemes } from '@celeriac/broker-kafka';
import { brokerSchemes as rabbitSchemes } from '@celeriac/broker-rabbitmq';
import { brokerSchemes as redisSchemes } from '@celeriac/broker-redis';
import { ADAPTER_PACKAGES, backendFromUrl, brokerFromUrl, defaultBackendUrl } from '@celeriac/cli/adapters';
import { MemoryBroker } from '@celeriac/core';
import { describe, expect, it } from 'vitest';
import { cliPath, demoTasksPath, runCli } from './cli-helpers.js';

// Each adapter package with the schemes it says it parses.
const served = {
  broker: {
    '@celeriac/broker-redis': redisSchemes,
    '@celeriac/broker-rabbitmq': rabbitSchemes,
    '@celeriac/broker-kafka': kafkaSchemes,
  },
  backend: { '@celeriac/backend-redis': backendSchemes },
} as const;

describe('the scheme → adapter table of the apps', () => {
  for (const kind of ['broker', 'backend'] as const) {
    it(`lists exactly the ${kind} schemes each adapter parses`, () => {
      const expected = Object.entries(served[kind])
        .flatMap(([pkg, schemes]) => (schemes as readonly string[]).map((s) => [s, pkg] as const))
        .sort();
      expect(Object.entries(ADAPTER_PACKAGES[kind]).sort()).toEqual(expected);
    });
  }

  it('hands out a fresh memory broker and backend for a URL whose old one was closed', async () => {
    const broker = await brokerFromUrl('memory://table-test');
    expect(await brokerFromUrl('memory://table-test')).toBe(broker);
    await broker.close();
    const again = await brokerFromUrl('memory://table-test');
    expect(again).not.toBe(broker);
    expect(again).toBeInstanceOf(MemoryBroker);
    await again.depth('celery'); // usable: a closed one would throw ClosedError
    const backend = await backendFromUrl('memory://table-test');
    await backend.close();
    const fresh = await backendFromUrl('memory://table-test');
    expect(fresh).not.toBe(backend);
    expect(await fresh.get('nope')).toBeNull();
  });

  it('guesses a backend only where one package family serves both, and says to pass --backend otherwise', () => {
    expect(defaultBackendUrl('redis://127.0.0.1:6379/2')).toBe('redis://127.0.0.1:6379/2');
    expect(defaultBackendUrl('memory://x')).toBe('memory://x');
    for (const url of [
      'amqp://guest:guest@127.0.0.1:5672',
      'kafka://127.0.0.1:9092',
      'redis+cluster://h:7000',
    ])
      expect(() => defaultBackendUrl(url)).toThrow(/--backend/);
  });
});

describe('CLIs and adapter schemes', () => {
  it('the worker refuses an AMQP broker without --backend instead of keeping results in memory', async () => {
    const { code, stdout } = await runCli(
      cliPath('worker'),
      ['--broker', 'amqp://guest:guest@127.0.0.1:1', '--tasks', demoTasksPath()],
      {
        CELERIAC_RESULT_BACKEND: '',
      },
    );
    expect(code).toBe(2);
    expect(stdout).toContain('--backend');
    expect(stdout).not.toContain('celeriac worker ready');
  });

  it('the producer CLI accepts rediss+sentinel:// (it reaches the adapter, which parses it)', async () => {
    const { code, stderr } = await runCli(cliPath('cli'), [
      '--broker',
      'rediss+sentinel://127.0.0.1:1/0?master_name=m',
      '--backend',
      'memory://',
      'depth',
      'celery',
    ]);
    // No sentinel listens there: the failure must come from connecting, not from an unknown scheme.
    expect(code).not.toBe(0);
    expect(stderr).not.toMatch(/no broker for scheme/);
  });
});
