import { ConfigError } from '@celeriac/core';
import { requireService } from '@celeriac/test-services';
import { uniqueName } from '@celeriac/testkit';
import { describe, expect, it } from 'vitest';
import { RedisBroker } from '../src/index.js';
import { redisUrl } from './helpers.js';

const up = await requireService('redis', redisUrl);
const base = redisUrl.replace(/\/\d*$/, '');

describe.skipIf(!up)("the URL's database", () => {
  it('is a ConfigError at connect when the server does not have it (not database 0)', async () => {
    const broker = new RedisBroker({ url: `${base}/99` });
    try {
      const error = await broker.depth(uniqueName('db')).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toMatch(/database 99 does not exist.*DB index is out of range/);
    } finally {
      await broker.close();
    }
  });

  it('is used when the server has it', async () => {
    const broker = new RedisBroker({ url: `${base}/3` });
    try {
      expect(await broker.depth(uniqueName('db'))).toBe(0);
    } finally {
      await broker.close();
    }
  });
});
