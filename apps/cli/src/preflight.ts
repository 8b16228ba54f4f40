import { type Broker, BrokerError, type ResultBackend } from '@celeriac/core';

/** An adapter that can prove itself usable in one cheap round trip (the Redis result backend can). */
interface Pingable {
  ping(): Promise<void>;
}

function canPing(value: unknown): value is Pingable {
  return typeof (value as Partial<Pingable>).ping === 'function';
}

/** A task id no task has: reading it is the generic one-round-trip probe of a backend. */
const PROBE_ID = 'celeriac-preflight-probe';

function bounded<T>(work: Promise<T>, what: string, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BrokerError(what, `no answer within ${timeoutMs / 1000} s`, true)),
      timeoutMs,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Options of {@link preflight}. */
export interface PreflightOptions {
  /** The queue whose depth is read to prove the broker usable (one the caller uses anyway). */
  readonly queue: string;
  /** How long each check may take before it counts as unreachable, in ms. @default 45000 */
  readonly timeoutMs?: number;
}

/** How long one check may take before it counts as unreachable. */
// A backstop above the adapters' own connect bounds (RabbitMQ: 30 s), whose errors say more.
const DEFAULT_TIMEOUT_MS = 45_000;

/** One bounded round trip to the broker: the depth of a queue the caller uses anyway. */
export async function checkBroker(
  broker: Broker,
  queue: string,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<void> {
  await bounded(broker.depth(queue), `${broker.name} broker`, timeoutMs);
}

/**
 * One bounded round trip to the result backend: its `ping()` where it has one (Redis: also checks
 * the URL's database exists), else a read of a task id nobody uses.
 */
export async function checkBackend(backend: ResultBackend, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  const probe = canPing(backend) ? backend.ping() : backend.get(PROBE_ID).then(() => undefined);
  await bounded(probe, `${backend.name} result backend`, timeoutMs);
}

/**
 * Checks the broker, then the result backend, with one cheap round trip each, so a process says
 * "ready" only once both answered: a wrong password, a database the server lacks or an unreachable
 * server fails here with the adapter's own error (ConfigError or BrokerError) instead of surfacing
 * task by task later.
 */
export async function preflight(
  broker: Broker,
  backend: ResultBackend,
  options: PreflightOptions,
): Promise<void> {
  await checkBroker(broker, options.queue, options.timeoutMs);
  await checkBackend(backend, options.timeoutMs);
}
