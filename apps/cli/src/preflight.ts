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
  /** How long each check may take before it counts as unreachable. @default 20000 */
  readonly timeoutMs?: number;
}

/**
 * Checks the broker, then the result backend, with one cheap round trip each, so a process says
 * "ready" only once both answered: a wrong password, a database the server lacks or an unreachable
 * server fails here with the adapter's own error (ConfigError or BrokerError) instead of surfacing
 * task by task later. The broker reads a queue's depth; the backend pings when it can (Redis: also
 * checks the database), else reads a task id nobody uses.
 */
export async function preflight(
  broker: Broker,
  backend: ResultBackend,
  options: PreflightOptions,
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  await bounded(broker.depth(options.queue), `${broker.name} broker`, timeoutMs);
  const probe = canPing(backend) ? backend.ping() : backend.get(PROBE_ID).then(() => undefined);
  await bounded(probe, `${backend.name} result backend`, timeoutMs);
}
