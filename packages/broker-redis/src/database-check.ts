import { ConfigError } from '@celeriac/core';
import { Redis } from 'ioredis';
import type { RedisClient } from './connection.js';

/** Redis' reply when SELECT names a database beyond its `databases` setting. */
const OUT_OF_RANGE = /DB index is out of range|invalid DB index/i;

/**
 * Selects the URL's database explicitly once connected. ioredis sends that SELECT itself while
 * connecting but only reports a refusal as an `error` event and carries on in database 0, so
 * `redis://host/99` on a 16-database server would silently use database 0: here it is a
 * ConfigError instead. Cluster connections have database 0 only (the URL parser enforces it).
 */
export async function assertDatabase(client: RedisClient, display: string): Promise<void> {
  if (!(client instanceof Redis)) return;
  const db = client.options.db ?? 0;
  if (db === 0) return;
  try {
    await client.select(db);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (!OUT_OF_RANGE.test(message)) throw error;
    throw new ConfigError(
      `redis: database ${db} does not exist on the server of ${display} (${message}); raise its "databases" setting or pick a lower index`,
      { cause: error },
    );
  }
}
