import type { Broker } from './broker.js';
import { ConfigError } from './errors.js';
import { MemoryResultBackend } from './memory/memory-backend.js';
import { MemoryBroker } from './memory/memory-broker.js';
import type { ResultBackend } from './result-backend.js';
import type { EventTransport } from './worker/celery-events.js';

/** Which package serves which broker URL scheme. */
export const BROKER_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  'redis:': '@celeriac/broker-redis',
  'rediss:': '@celeriac/broker-redis',
  'redis+sentinel:': '@celeriac/broker-redis',
  'redis+cluster:': '@celeriac/broker-redis',
  'amqp:': '@celeriac/broker-rabbitmq',
  'amqps:': '@celeriac/broker-rabbitmq',
  'kafka:': '@celeriac/broker-kafka',
});

/** Which package serves which result backend URL scheme. */
export const BACKEND_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  'redis:': '@celeriac/backend-redis',
  'rediss:': '@celeriac/backend-redis',
  'redis+sentinel:': '@celeriac/backend-redis',
});

/**
 * Imports a package on behalf of the caller. Pass `(name) => import(name)` from the application,
 * so the adapter resolves from the application's dependencies, not from core's.
 */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

// One in-process memory broker/backend per URL, so `memory://` means the same place within a process.
const memoryBrokers = new Map<string, MemoryBroker>();
const memoryBackends = new Map<string, MemoryResultBackend>();

function schemeOf(url: string, what: string): string {
  const match = /^([a-z][a-z0-9+.-]*:)/i.exec(url.trim());
  if (!match?.[1])
    throw new ConfigError(`${what} URL "${url}" has no scheme (expected e.g. redis://127.0.0.1:6379)`);
  return match[1].toLowerCase();
}

async function load<T>(
  url: string,
  what: 'broker' | 'result backend',
  table: Readonly<Record<string, string>>,
  factory: 'createBroker' | 'createResultBackend' | 'createEventTransport',
  importer: ModuleImporter,
): Promise<T> {
  const scheme = schemeOf(url, what);
  const pkg = table[scheme];
  if (!pkg) {
    throw new ConfigError(
      `no ${what} for scheme "${scheme}//"; supported: memory://, ${[...new Set(Object.keys(table))].map((s) => `${s}//`).join(', ')}`,
    );
  }
  let mod: unknown;
  try {
    mod = await importer(pkg);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new ConfigError(
        `the ${what} URL ${scheme}// needs the package ${pkg}: install it (pnpm add ${pkg})`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  const create = (mod as Record<string, unknown>)[factory];
  if (typeof create !== 'function') throw new ConfigError(`${pkg} does not export ${factory}(url)`);
  return (await (create as (u: string) => T | Promise<T>)(url)) as T;
}

/** Creates the broker a URL names (`memory://`, `redis://`, `amqp://`, `kafka://`, …). */
export async function brokerFromUrl(url: string, importer: ModuleImporter): Promise<Broker> {
  if (schemeOf(url, 'broker') === 'memory:') {
    const b = memoryBrokers.get(url) ?? new MemoryBroker();
    memoryBrokers.set(url, b);
    return b;
  }
  return load<Broker>(url, 'broker', BROKER_PACKAGES, 'createBroker', importer);
}

/** Creates the result backend a URL names (`memory://`, `redis://`, …). */
export async function backendFromUrl(url: string, importer: ModuleImporter): Promise<ResultBackend> {
  if (schemeOf(url, 'result backend') === 'memory:') {
    const b = memoryBackends.get(url) ?? new MemoryResultBackend();
    memoryBackends.set(url, b);
    return b;
  }
  return load<ResultBackend>(url, 'result backend', BACKEND_PACKAGES, 'createResultBackend', importer);
}

/**
 * Creates the Celery event transport of a broker URL (events travel over the broker, as in Celery),
 * for brokers whose package exports `createEventTransport(url)`.
 */
export async function eventTransportFromUrl(url: string, importer: ModuleImporter): Promise<EventTransport> {
  if (schemeOf(url, 'broker') === 'memory:')
    throw new ConfigError('memory:// has no Celery event transport; use redis:// or amqp://');
  return load<EventTransport>(url, 'broker', BROKER_PACKAGES, 'createEventTransport', importer);
}
