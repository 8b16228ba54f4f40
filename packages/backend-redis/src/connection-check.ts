import { ConfigError } from '@celeriac/core';
import type { Redis } from 'ioredis';
import { ADAPTER, toCeleriacError } from './errors.js';

/** Redis' reply when SELECT names a database beyond its `databases` setting. */
const OUT_OF_RANGE = /DB index is out of range|invalid DB index/i;

/**
 * One cheap round trip that proves a client is usable: connected, authenticated, and in the URL's
 * database. ioredis reports a refused AUTH or SELECT during its handshake only as an `error` event
 * and then carries on (in database 0 for a bad SELECT), and it queues commands through reconnects,
 * so the first such event ends the check at once instead of waiting out the retries.
 */
export async function checkConnection(client: Redis, display: string): Promise<void> {
  const db = client.options.db ?? 0;
  let onError: ((error: unknown) => void) | undefined;
  const firstError = new Promise<never>((_, reject) => {
    onError = reject;
    client.once('error', reject);
  });
  try {
    await Promise.race([
      (async () => {
        await client.ping();
        // Explicit, so a refused SELECT is a reply to us rather than an event ioredis shrugs off.
        if (db !== 0) await client.select(db);
      })(),
      firstError,
    ]);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (OUT_OF_RANGE.test(message)) {
      throw new ConfigError(
        `${ADAPTER}: database ${db} does not exist on the server of ${display} (${message}); raise its "databases" setting or pick a lower index`,
        { cause: error },
      );
    }
    throw toCeleriacError(error, `connecting to ${display}`);
  } finally {
    if (onError) client.off('error', onError);
  }
}
