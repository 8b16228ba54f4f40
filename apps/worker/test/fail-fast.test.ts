import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { freePort, type OwnRedisServer, requireService, startRedisServer } from '@celeriac/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { built, type Exit, fatalLines, runToExit, startCommand } from './run-command.js';

const redis = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const up = await requireService('redis', redis);
const amqp = process.env.CELERIAC_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const rabbitUp = await requireService('rabbitmq', amqp);
const worker = built('apps/worker/dist/main.js');
const celeriac = built('apps/cli/dist/main.js');
const tasks = built('internal/demo-tasks/dist/tasks.js');

/** The one fatal line of a run that must stop at startup, never having said "ready". */
function expectStartupFailure(exit: Exit, code: string, text: RegExp): void {
  expect(exit.hung, `the worker hung; output:\n${exit.output}`).toBe(false);
  expect(exit.code).not.toBe(0);
  expect(exit.output).not.toContain('worker ready');
  const fatal = fatalLines(exit.output);
  expect(fatal, exit.output).toHaveLength(1);
  expect(fatal[0]?.code).toBe(code);
  expect(fatal[0]?.msg).toMatch(text);
}

describe.skipIf(!up)('celeriac-worker fails fast at startup', { timeout: 120_000 }, () => {
  let secured: OwnRedisServer | undefined;
  let securedPort = 0;
  let busy: Server | undefined;
  let busyPort = 0;

  beforeAll(async () => {
    securedPort = await freePort();
    secured = await startRedisServer(securedPort, ['--port', String(securedPort), '--requirepass', 's3cret']);
    busyPort = await freePort();
    const server = createServer();
    busy = server;
    await new Promise<void>((resolve) => server.listen(busyPort, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await secured?.stop();
    await new Promise((resolve) => (busy ? busy.close(resolve) : resolve(undefined)));
  });

  const start = (args: string[], env: Record<string, string> = {}) =>
    runToExit(worker, ['--tasks', tasks, ...args], env);

  it('a tasks module that does not load', async () => {
    const exit = await runToExit(worker, ['--broker', redis, '--tasks', './no-such-module.js']);
    expectStartupFailure(exit, 'CONFIG_INVALID', /cannot load tasks module/);
  });

  it('a broker that refuses connections', async () => {
    const exit = await start(['--broker', `redis://127.0.0.1:${await freePort()}`]);
    expectStartupFailure(exit, 'BROKER_ERROR', /ECONNREFUSED|cannot connect/);
  });

  it('a wrong password', async () => {
    const exit = await start(['--broker', `redis://:wrong@127.0.0.1:${securedPort}`]);
    expectStartupFailure(exit, 'CONFIG_INVALID', /authentication/);
  });

  it('a broker database the server does not have', async () => {
    const exit = await start(['--broker', `${redis}/99`, '--backend', redis]);
    expectStartupFailure(exit, 'CONFIG_INVALID', /database 99/);
  });

  it('a backend database the server does not have', async () => {
    const exit = await start(['--broker', redis, '--backend', `${redis}/99`]);
    expectStartupFailure(exit, 'CONFIG_INVALID', /database 99/);
  });

  it('a result backend that refuses connections', async () => {
    const exit = await start(['--broker', redis, '--backend', `redis://127.0.0.1:${await freePort()}`]);
    expectStartupFailure(exit, 'BROKER_ERROR', /result backend.*(ECONNREFUSED|cannot connect)/);
  });

  it('a result backend with a wrong password', async () => {
    const exit = await start(['--broker', redis, '--backend', `redis://:wrong@127.0.0.1:${securedPort}`]);
    expectStartupFailure(exit, 'CONFIG_INVALID', /authentication/);
  });

  it('a metrics port out of range', async () => {
    const exit = await start(['--broker', redis, '--metrics-port', '70000']);
    expectStartupFailure(exit, 'CONFIG_INVALID', /--metrics-port.*70000/);
  });

  it('a metrics port already in use', async () => {
    const exit = await start(['--broker', redis, '--metrics-port', String(busyPort)]);
    expectStartupFailure(exit, 'CONFIG_INVALID', new RegExp(`metrics.*${busyPort}.*in use`));
  });

  for (const value of ['abc', '-3', '2.5', ' ']) {
    it(`CELERIAC_CONCURRENCY=${JSON.stringify(value)}, validated as --concurrency is`, async () => {
      const exit = await start(['--broker', redis], { CELERIAC_CONCURRENCY: value });
      expectStartupFailure(exit, 'CONFIG_INVALID', /CELERIAC_CONCURRENCY/);
    });
  }

  it('a bad --concurrency flag, with the same code', async () => {
    const exit = await start(['--broker', redis, '--concurrency', '0']);
    expectStartupFailure(exit, 'CONFIG_INVALID', /--concurrency/);
  });

  it('an unknown flag', async () => {
    const exit = await start(['--broker', redis, '--no-such-flag']);
    expectStartupFailure(exit, 'CONFIG_INVALID', /--no-such-flag/);
  });

  it('a good configuration still starts, and CELERIAC_CONCURRENCY sets the concurrency', async () => {
    const port = await freePort();
    const queue = `fail-fast-${randomUUID().slice(0, 8)}`;
    const running = startCommand(
      worker,
      ['--tasks', tasks, '--broker', redis, '--queue', queue, '--metrics-port', String(port)],
      {
        CELERIAC_CONCURRENCY: '3',
      },
    );
    try {
      await running.waitFor('worker ready');
      const ready =
        running
          .output()
          .split('\n')
          .find((l) => l.includes('worker ready')) ?? '';
      expect(JSON.parse(ready).concurrency).toBe(3);
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(metrics.status).toBe(200);
    } finally {
      running.child.kill('SIGTERM');
      expect(await running.exited()).toBe(0);
    }
  });
});

describe.skipIf(!up || !rabbitUp)(
  'celeriac-worker on RabbitMQ fails fast at startup',
  { timeout: 120_000 },
  () => {
    it('a wrong password', async () => {
      const url = new URL(amqp);
      url.username = 'guest';
      url.password = 'wrong';
      const exit = await runToExit(worker, [
        '--tasks',
        tasks,
        '--broker',
        url.toString(),
        '--backend',
        redis,
      ]);
      expectStartupFailure(exit, 'CONFIG_INVALID', /rabbitmq.*ACCESS_REFUSED/);
    });

    it('a result backend database the server does not have', async () => {
      const exit = await runToExit(worker, ['--tasks', tasks, '--broker', amqp, '--backend', `${redis}/99`]);
      expectStartupFailure(exit, 'CONFIG_INVALID', /database 99/);
    });
  },
);

describe.skipIf(!up)('celeriac-worker --dead-letter-on-failure', { timeout: 120_000 }, () => {
  it("moves a task that failed for good to its queue's dead letters, where dlq list shows it", async () => {
    const queue = `dlof-${randomUUID().slice(0, 8)}`;
    const env = { CELERIAC_BROKER_URL: redis };
    const running = startCommand(
      worker,
      ['--tasks', tasks, '--queue', queue, '--dead-letter-on-failure'],
      env,
    );
    try {
      await running.waitFor('worker ready');
      const sent = await runToExit(
        celeriac,
        ['enqueue', 'demo.fail', '{"message":"boom"}', '--queue', queue],
        env,
      );
      expect(sent.code, sent.output).toBe(0);
      const id = sent.output.trim();
      await running.waitFor('task failed');
      let listed = '';
      for (let i = 0; i < 100 && !listed.includes(id); i++) {
        listed = (await runToExit(celeriac, ['dlq', 'list', queue], env)).output;
        if (!listed.includes(id)) await new Promise((r) => setTimeout(r, 100));
      }
      expect(listed).toContain(id);
      expect(listed).toContain('boom');
    } finally {
      running.child.kill('SIGTERM');
      expect(await running.exited()).toBe(0);
      // Leave nothing behind on the shared server: the dead letter goes back to the queue, then away.
      await runToExit(celeriac, ['dlq', 'redrive', queue], env);
      await runToExit(celeriac, ['purge', queue], env);
    }
  });
});
