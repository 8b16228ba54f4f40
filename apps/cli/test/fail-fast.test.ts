import { freePort, type OwnRedisServer, requireService, startRedisServer } from '@celeriac/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Exit, runCeleriac } from './run-command.js';

const redis = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const up = await requireService('redis', redis);

/** A command that must fail: no hang, non-zero, nothing on stdout, one stderr line with the code. */
function expectOneLineFailure(exit: Exit, code: string, text: RegExp): void {
  expect(exit.hung, `celeriac hung; stderr:\n${exit.stderr}`).toBe(false);
  expect(exit.code).not.toBe(0);
  expect(exit.stdout).toBe('');
  const lines = exit.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, exit.stderr).toHaveLength(1);
  expect(lines[0]).toContain(`[celeriac:${code}]`);
  expect(lines[0]).toMatch(text);
}

describe.skipIf(!up)('celeriac fails with one line on a bad configuration', () => {
  let secured: OwnRedisServer | undefined;
  let securedPort = 0;

  beforeAll(async () => {
    securedPort = await freePort();
    secured = await startRedisServer(securedPort, ['--port', String(securedPort), '--requirepass', 's3cret']);
  });

  afterAll(async () => {
    await secured?.stop();
  });

  it('a broker database the server does not have', async () => {
    const exit = await runCeleriac(['--broker', `${redis}/99`, '--backend', redis, 'depth', 'q']);
    expectOneLineFailure(exit, 'CONFIG_INVALID', /database 99/);
  });

  for (const command of [
    ['inspect', 'ping'],
    ['events', '--count', '1'],
  ]) {
    it(`a broker database the server does not have, for ${command[0]} (its own connections)`, async () => {
      const exit = await runCeleriac(['--broker', `${redis}/99`, ...command]);
      expectOneLineFailure(exit, 'CONFIG_INVALID', /database 99/);
    });
  }

  it('a broker database from CELERIAC_BROKER_URL, read as the flag is', async () => {
    const exit = await runCeleriac(['--backend', redis, 'depth', 'q'], {
      CELERIAC_BROKER_URL: `${redis}/99`,
    });
    expectOneLineFailure(exit, 'CONFIG_INVALID', /database 99/);
  });

  it('a backend database the server does not have (not read as "no result yet")', async () => {
    const exit = await runCeleriac(['--broker', redis, '--backend', `${redis}/99`, 'result', 'some-id']);
    expectOneLineFailure(exit, 'CONFIG_INVALID', /database 99/);
  });

  it('a broker that refuses connections', async () => {
    const exit = await runCeleriac([
      '--broker',
      `redis://127.0.0.1:${await freePort()}`,
      '--backend',
      redis,
      'depth',
      'q',
    ]);
    expectOneLineFailure(exit, 'BROKER_ERROR', /ECONNREFUSED/);
  });

  it('a result backend that refuses connections', async () => {
    const exit = await runCeleriac([
      '--broker',
      redis,
      '--backend',
      `redis://127.0.0.1:${await freePort()}`,
      'result',
      'some-id',
    ]);
    expectOneLineFailure(exit, 'BROKER_ERROR', /result backend.*ECONNREFUSED/);
  });

  it('a wrong password for the broker', async () => {
    const exit = await runCeleriac([
      '--broker',
      `redis://:wrong@127.0.0.1:${securedPort}`,
      '--backend',
      redis,
      'depth',
      'q',
    ]);
    expectOneLineFailure(exit, 'CONFIG_INVALID', /authentication/);
  });

  it('a wrong password for the result backend', async () => {
    const exit = await runCeleriac([
      '--broker',
      redis,
      '--backend',
      `redis://:wrong@127.0.0.1:${securedPort}`,
      'result',
      'some-id',
    ]);
    expectOneLineFailure(exit, 'CONFIG_INVALID', /authentication/);
  });

  it('a bad flag value', async () => {
    const exit = await runCeleriac(['--broker', redis, 'dlq', 'list', 'q', '--limit', 'abc']);
    expectOneLineFailure(exit, 'CONFIG_INVALID', /--limit.*abc/);
  });

  it('a missing argument', async () => {
    const exit = await runCeleriac(['--broker', redis, 'depth']);
    expectOneLineFailure(exit, 'CONFIG_INVALID', /queues/);
  });
});
