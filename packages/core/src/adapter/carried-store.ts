import type { ResultBackend, ResultMeta, StoreOptions } from '../result-backend.js';

/**
 * One result write that a broker can run inside its own settlement, when the broker and the
 * result backend are the same server: the result is stored, then the message acknowledged, in one
 * call (one round trip instead of two).
 *
 * The backend describes the write; the broker runs it without knowing what it does. The two never
 * import each other: they only compare {@link CarriedStore.target}.
 *
 * For a Redis target (`redis://…`, see {@link redisTarget}), `script` is a Lua chunk whose value is
 * a function `(keys, args) → reply`; the broker runs it (once per stored result, before that
 * delivery's ack) in its own script with `keys` declared as script keys. The function may touch
 * only its `keys`, and a failure it raises fails that one settlement: the message stays held.
 */
export interface CarriedStore {
  /** The server and database the write is for; a broker carries it only when it settles there. */
  readonly target: string;
  /** The write, in the target's script language. The same text for every write of one backend. */
  readonly script: string;
  readonly keys: readonly string[];
  readonly args: readonly (string | number)[];
  /** Told the script's reply once the settlement that carried it succeeded (backend counters). */
  readonly done?: (reply: unknown) => void;
}

/**
 * Offered by a result backend that can hand a store to a broker on the same server. `undefined`
 * when this write cannot be carried (e.g. the backend is on Cluster or Sentinel); the caller then
 * stores with `store()` and acks separately.
 */
export interface CarriesStores {
  carriedStore(meta: ResultMeta, options?: StoreOptions): CarriedStore | undefined;
}

/** The backend's {@link CarriesStores.carriedStore}, bound, when it offers one. */
export function carriedStoreOf(
  backend: ResultBackend | undefined,
): ((meta: ResultMeta, options?: StoreOptions) => CarriedStore | undefined) | undefined {
  const offer = (backend as Partial<CarriesStores> | undefined)?.carriedStore;
  return typeof offer === 'function' ? offer.bind(backend) : undefined;
}

/**
 * Where a Redis connection goes, in the shape of ioredis's options (which both Redis adapters hold),
 * so the broker and the backend name one server the same way.
 */
export interface RedisTargetParts {
  /** Any value means TLS (ioredis takes the TLS options object here). */
  readonly tls?: unknown;
  readonly host?: string | undefined;
  readonly port?: number | undefined;
  /** A Unix socket instead of host and port. */
  readonly path?: string | null | undefined;
  readonly db?: number | undefined;
  /** Scripts run with the settling connection's rights: another user may not reach the keys. */
  readonly username?: string | undefined;
  /** Set for Sentinel, whose primary may move: such a connection has no fixed target. */
  readonly sentinels?: readonly unknown[] | null | undefined;
}

/**
 * The {@link CarriedStore.target} of one Redis server and database, the same text on both sides
 * when they connect the same way (`localhost` and `127.0.0.1` count as different: only an exact
 * match is trusted to be the same server). `undefined` for Sentinel.
 */
export function redisTarget(parts: RedisTargetParts): string | undefined {
  if (parts.sentinels?.length) return undefined;
  const scheme = parts.tls !== undefined ? 'rediss' : 'redis';
  const user = parts.username ? `${encodeURIComponent(parts.username)}@` : '';
  const where = parts.path ? `unix:${parts.path}` : `${parts.host ?? 'localhost'}:${parts.port ?? 6379}`;
  return `${scheme}://${user}${where}/${parts.db ?? 0}`;
}
