import { delayedKey, listKeys, RedisBroker } from '@celeriac/broker-redis';
import { freePort, type OwnRedisServer, startRedisServer } from '@celeriac/test-services';
import { adapterRequire, type ChaosTarget } from './target.js';

/** The little of ioredis this file uses. */
interface RawRedis {
  lpush(key: string, value: string): Promise<number>;
  hlen(key: string): Promise<number>;
  llen(key: string): Promise<number>;
  zcard(key: string): Promise<number>;
  info(section: string): Promise<string>;
  on(event: 'error', listener: () => void): void;
  disconnect(): void;
}
type RedisCtor = new (url: string, options: Record<string, unknown>) => RawRedis;

/**
 * A redis-server of the run's own on a free port, persisting every write (`appendonly yes`,
 * `appendfsync always`), so a restart must lose nothing. Worker timings are short so recovery
 * from a dead or frozen consumer shows within seconds.
 */
export async function redisTarget(): Promise<ChaosTarget> {
  const port = await freePort();
  const server: OwnRedisServer = await startRedisServer(port, [
    '--port',
    String(port),
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
  ]);
  const url = `redis://127.0.0.1:${port}`;
  const { Redis } = adapterRequire('broker-redis')('ioredis') as { Redis: RedisCtor };
  // Retries commands across the restart and the pause.
  const raw = new Redis(url, { maxRetriesPerRequest: null });
  raw.on('error', () => {}); // refused while the server restarts; commands wait for the reconnect
  const workerOptions = { url, heartbeatIntervalMs: 500, consumerTimeoutMs: 3_000, sweepIntervalMs: 500 };
  const brokers: RedisBroker[] = [];
  return {
    name: 'redis',
    packageName: '@celeriac/broker-redis',
    workerOptions,
    openBroker: () => {
      const b = new RedisBroker(workerOptions);
      brokers.push(b);
      return b;
    },
    injectRaw: async (queue, text) => void (await raw.lpush(queue, text)),
    restartHow:
      'redis-server stopped (SIGTERM) and started again on its append-only file (appendfsync always)',
    restart: async () => {
      await server.restart(500);
      return undefined;
    },
    serverPid: async () => Number(/process_id:(\d+)/.exec(await raw.info('server'))?.[1]),
    pauseMs: 6_000,
    held: async (queue) => {
      // kombu's `unacked` hash, and the adapter's own for held messages that are not envelopes.
      const [unacked, unackedRaw, delayed, ...ready] = await Promise.all([
        raw.hlen('unacked'),
        raw.hlen('_celeriac.unacked_raw'),
        raw.zcard(delayedKey(false, queue)),
        ...listKeys(false, queue).map((k) => raw.llen(k)),
      ]);
      return { unacked: unacked + unackedRaw, waiting: delayed + ready.reduce((a, b) => a + b, 0) };
    },
    close: async () => {
      await Promise.allSettled(brokers.map((b) => b.close()));
      raw.disconnect();
      await server.stop();
    },
  };
}
