import { CeleriacError } from '@celeriac/core';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { assertDatabase } from './database-check.js';
import { toCeleriacError } from './errors.js';
import type { RedisTarget } from './url.js';

/** A connection to a single server, a Sentinel-managed master, or a Cluster. */
export type RedisClient = Redis | Cluster;

/** What every client we open shares. */
export interface ClientSettings {
  readonly target: RedisTarget;
  /** Extra ioredis options, merged over what the URL says. */
  readonly redis?: RedisOptions | undefined;
  /** Extra ioredis Cluster options. */
  readonly cluster?: ClusterOptions | undefined;
}

/**
 * Opens a client (lazily: nothing connects until {@link connectClient} or a first command).
 * `blocking` clients wait forever through outages (a BLPOP must survive a reconnect); command
 * clients give up after ioredis' default retries so callers see an error.
 */
export function createClient(settings: ClientSettings, role: string, blocking = false): RedisClient {
  const base: RedisOptions = { lazyConnect: true, keepAlive: 10_000 };
  // `CLIENT LIST` shows who is who: `<connectionName or celeriac>:<role>`.
  const connectionName = `${settings.redis?.connectionName ?? 'celeriac'}:${role}`;
  const fixed: RedisOptions = { connectionName, ...(blocking ? { maxRetriesPerRequest: null } : {}) };
  const { target } = settings;
  if (target.kind === 'cluster') {
    return new Cluster(
      target.nodes.map((n) => ({ host: n.host, port: n.port })),
      {
        lazyConnect: true,
        ...settings.cluster,
        redisOptions: {
          ...base,
          ...target.options,
          ...settings.redis,
          ...settings.cluster?.redisOptions,
          ...fixed,
        },
      },
    );
  }
  return new Redis({ ...base, ...target.options, ...settings.redis, ...fixed });
}

/**
 * Connects and fails clearly: a wrong password or missing ACL permission becomes a ConfigError,
 * a database the server does not have a ConfigError too, an unreachable server a retriable
 * BrokerError. ioredis reports the reason through its `error`
 * event and rejects `connect()` with a generic message, so the event is kept.
 */
export async function connectClient(client: RedisClient, display: string): Promise<void> {
  let reason: unknown;
  const onError = (error: unknown) => {
    reason ??= error;
  };
  client.on('error', onError);
  try {
    await client.connect();
    // Auth problems can surface only on the first command (e.g. ACL users without permissions).
    await client.ping();
    await assertDatabase(client, display);
  } catch (error) {
    client.disconnect();
    // A check's own verdict wins over the first `error` event (ioredis reports the refused SELECT there too).
    throw toCeleriacError(CeleriacError.is(error) ? error : (reason ?? error), 'cannot connect', display);
  } finally {
    client.off('error', onError);
  }
}
