import {
  type Broker,
  ConfigError,
  type ResultBackend,
  sharedMemoryBackend,
  sharedMemoryBroker,
} from '@celeriac/core';

/**
 * What an adapter package serves: a broker, a result backend, or Celery events over a broker (sent
 * by workers, read by monitors).
 */
export type AdapterKind = 'broker' | 'backend' | 'events' | 'receiver' | 'control';

/**
 * Which package serves which URL scheme: the one place that names adapter packages. Each adapter
 * exports the schemes it parses (`brokerSchemes` / `backendSchemes`); a test checks that this
 * table and those exports agree. `memory://` is core's own and is not listed.
 */
export const ADAPTER_PACKAGES = {
  broker: {
    redis: '@celeriac/broker-redis',
    rediss: '@celeriac/broker-redis',
    'redis+sentinel': '@celeriac/broker-redis',
    'rediss+sentinel': '@celeriac/broker-redis',
    'redis+cluster': '@celeriac/broker-redis',
    'rediss+cluster': '@celeriac/broker-redis',
    amqp: '@celeriac/broker-rabbitmq',
    amqps: '@celeriac/broker-rabbitmq',
    kafka: '@celeriac/broker-kafka',
  },
  backend: {
    redis: '@celeriac/backend-redis',
    rediss: '@celeriac/backend-redis',
    'redis+sentinel': '@celeriac/backend-redis',
  },
} as const satisfies Record<'broker' | 'backend', Record<string, string>>;

const FACTORY = {
  broker: 'createBroker',
  backend: 'createResultBackend',
  events: 'createEventTransport',
  receiver: 'createEventReceiver',
  control: 'createControlTransport',
} as const satisfies Record<AdapterKind, string>;

const WHAT = {
  broker: 'broker',
  backend: 'result backend',
  events: 'event transport',
  receiver: 'event receiver',
  control: 'remote control transport',
} as const;

/** The scheme of a URL, lower-cased and without `:`; a ConfigError when there is none. */
export function schemeOf(url: string, what = 'broker'): string {
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(url.trim());
  if (!match?.[1]) throw new ConfigError(`${what} URL "${url}" has no scheme (e.g. redis://127.0.0.1:6379)`);
  return match[1].toLowerCase();
}

/** The install command of the package manager that started this process (npm when unknown). */
function installCommand(pkg: string): string {
  const agent = process.env.npm_config_user_agent ?? '';
  if (agent.startsWith('pnpm')) return `pnpm add ${pkg}`;
  if (agent.startsWith('yarn')) return `yarn add ${pkg}`;
  if (agent.startsWith('bun')) return `bun add ${pkg}`;
  return `npm install ${pkg}`;
}

/** The package serving a scheme; a ConfigError naming the supported schemes when none does. */
function packageFor(scheme: string, kind: AdapterKind): string {
  const table: Readonly<Record<string, string>> = ADAPTER_PACKAGES[kind === 'backend' ? 'backend' : 'broker'];
  const pkg = table[scheme];
  if (pkg) return pkg;
  const known = ['memory', ...Object.keys(table)].map((s) => `${s}://`).join(', ');
  throw new ConfigError(`no ${WHAT[kind]} for scheme "${scheme}://"; supported: ${known}`);
}

/** Imports the package serving `url` for `kind` and calls its factory. */
async function load<T>(url: string, kind: AdapterKind, ...extra: unknown[]): Promise<T> {
  const scheme = schemeOf(url, WHAT[kind]);
  const pkg = packageFor(scheme, kind);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pkg)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new ConfigError(
        `the ${WHAT[kind]} URL ${scheme}:// needs the package ${pkg}: install it (${installCommand(pkg)})`,
        { cause: error },
      );
    }
    throw error;
  }
  const create = mod[FACTORY[kind]];
  if (typeof create !== 'function') {
    throw new ConfigError(
      kind === 'events' || kind === 'receiver' || kind === 'control'
        ? `${scheme}:// brokers (${pkg}) have no Celery ${WHAT[kind]}`
        : `${pkg} does not export ${FACTORY[kind]}(url)`,
    );
  }
  return (await (create as (u: string, ...e: unknown[]) => T | Promise<T>)(url, ...extra)) as T;
}

/** Creates the broker a URL names (`memory://`, `redis://`, `amqp://`, `kafka://`, …). */
export function brokerFromUrl(url: string): Promise<Broker> {
  if (schemeOf(url) === 'memory') return Promise.resolve(sharedMemoryBroker(url));
  return load<Broker>(url, 'broker');
}

/** Creates the result backend a URL names (`memory://`, `redis://`, …). */
export function backendFromUrl(url: string): Promise<ResultBackend> {
  if (schemeOf(url, 'result backend') === 'memory') return Promise.resolve(sharedMemoryBackend(url));
  return load<ResultBackend>(url, 'backend');
}

/**
 * Creates the Celery event transport of a broker URL (events travel over the broker, as in
 * Celery), for brokers whose package exports `createEventTransport(url)`. `T` is the worker's
 * `EventTransport`; this module names no worker type, so the producer side can import it.
 */
export function eventTransportFromUrl<T>(url: string): Promise<T> {
  if (schemeOf(url) === 'memory')
    return Promise.reject(
      new ConfigError('memory:// has no Celery event transport; use redis://, amqp:// or kafka://'),
    );
  return load<T>(url, 'events');
}

/**
 * Creates the Celery event receiver of a broker URL (what monitors read), for brokers whose package
 * exports `createEventReceiver(url)`. `T` is core's `EventReceiver`; named by the caller, as above.
 */
export function eventReceiverFromUrl<T>(url: string): Promise<T> {
  if (schemeOf(url) === 'memory')
    return Promise.reject(
      new ConfigError('memory:// has no Celery events; use redis://, amqp:// or kafka://'),
    );
  return load<T>(url, 'receiver');
}

/**
 * The result backend URL to use when none was given: the broker's own server where one package
 * family serves both (`redis://` broker → `redis://` backend), the same in-process place for
 * `memory://`. Any other broker has no backend of its own, so guessing would silently keep
 * results where no other process can see them: that is a ConfigError asking for `--backend`.
 */
export function defaultBackendUrl(brokerUrl: string): string {
  const scheme = schemeOf(brokerUrl);
  if (scheme === 'memory' || scheme in ADAPTER_PACKAGES.backend) return brokerUrl;
  packageFor(scheme, 'broker'); // an unknown broker scheme is reported as such first
  const backends = ['memory', ...Object.keys(ADAPTER_PACKAGES.backend)].map((s) => `${s}://`).join(', ');
  throw new ConfigError(
    `a ${scheme}:// broker has no result backend of its own: pass --backend URL (or CELERIAC_RESULT_BACKEND); supported: ${backends}`,
  );
}

/**
 * Creates the remote control transport of a broker URL (Celery's pidbox on Redis and RabbitMQ, a
 * control topic on Kafka), for brokers whose package exports `createControlTransport(url)`. `T` is
 * core's `ControlTransport`; named by the caller, as above. `namespace` is Celery's `control_exchange`.
 */
export function controlTransportFromUrl<T>(url: string, namespace?: string): Promise<T> {
  if (schemeOf(url) === 'memory')
    return Promise.reject(
      new ConfigError(
        'memory:// workers live in their own process; remote control needs redis://, amqp:// or kafka://',
      ),
    );
  return load<T>(url, 'control', ...(namespace ? [{ namespace }] : []));
}
