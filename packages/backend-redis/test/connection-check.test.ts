import { BrokerError, ConfigError } from '@celeriac/core';
import { freePort, requireService } from '@celeriac/test-services';
import { describe, expect, it } from 'vitest';
import { RedisResultBackend } from '../src/index.js';

const redisUrl = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const up = await requireService('redis', redisUrl);
const base = redisUrl.replace(/\/\d*$/, '');

async function pingError(url: string): Promise<unknown> {
  const backend = new RedisResultBackend({ url });
  try {
    return await backend.ping().then(
      () => undefined,
      (e: unknown) => e,
    );
  } finally {
    await backend.close();
  }
}

describe.skipIf(!up)('ping()', () => {
  it('passes on a reachable server and an existing database', async () => {
    expect(await pingError(`${base}/2`)).toBeUndefined();
  });

  it('is a ConfigError for a database the server does not have (ioredis would use database 0)', async () => {
    const error = await pingError(`${base}/99`);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/database 99 does not exist.*DB index is out of range/);
  });

  it('is a retriable BrokerError for a server that is not there', async () => {
    const error = await pingError(`redis://127.0.0.1:${await freePort()}`);
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).retriable).toBe(true);
    expect((error as BrokerError).message).toMatch(/ECONNREFUSED/);
  });

  it('checks the read replica too', async () => {
    const read = encodeURIComponent(`${base}/99`);
    const error = await pingError(`${base}/0?readUrl=${read}`);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/read replica/);
  });
});
