import { freePort, type OwnRedisServer, startRedisServer } from '@celeriac/test-services';

export { freePort };

/** A redis-server this test started itself, on a spare port, with its own data directory. */
export type OwnRedis = OwnRedisServer;

/** Starts `redis-server` with extra arguments (e.g. `--requirepass`, `--appendonly yes`). */
export async function startRedis(
  args: readonly string[] = [],
  options: { port?: number } = {},
): Promise<OwnRedis> {
  const port = options.port ?? (await freePort());
  return startRedisServer(port, ['--port', String(port), ...args]);
}
