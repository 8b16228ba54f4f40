import { type Broker, ConfigError, type ResultBackend } from '@celeriac/core';
import { type ControlClient, type ControlTransport, createControlClient } from '@celeriac/core/producer';
import type { EventReceiver } from '@celeriac/core/worker';

/** Adapter packages the dashboard looks for, each asked which URL schemes it serves. */
const BROKER_PACKAGES = ['@celeriac/broker-redis', '@celeriac/broker-rabbitmq', '@celeriac/broker-kafka'];
const BACKEND_PACKAGES = ['@celeriac/backend-redis'];

type AdapterModule = Readonly<Record<string, unknown>>;

function schemeOf(url: string, what: string): string {
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(url.trim());
  if (!match?.[1]) throw new ConfigError(`${what} URL "${url}" has no scheme (e.g. redis://127.0.0.1:6379)`);
  return match[1].toLowerCase();
}

/** The installed package among `packages` whose `schemesExport` lists the URL's scheme. */
async function adapterFor(
  url: string,
  what: string,
  packages: readonly string[],
  schemesExport: string,
): Promise<AdapterModule> {
  const scheme = schemeOf(url, what);
  for (const pkg of packages) {
    let mod: AdapterModule;
    try {
      mod = (await import(pkg)) as AdapterModule;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') continue;
      throw error;
    }
    const schemes = mod[schemesExport];
    if (Array.isArray(schemes) && schemes.includes(scheme)) return mod;
  }
  throw new ConfigError(
    `no installed package serves ${what} URLs ${scheme}://; install the adapter (one of ${packages.join(', ')})`,
  );
}

function factory<T>(mod: AdapterModule, name: string, what: string): (url: string) => T {
  const create = mod[name];
  if (typeof create !== 'function') throw new ConfigError(`the ${what} adapter has no ${name}(url)`);
  return create as (url: string) => T;
}

/** The broker, result backend and event receiver a dashboard runs on. */
export interface Connections {
  readonly broker: Broker;
  readonly backend: ResultBackend;
  readonly events: EventReceiver;
  /** The broker's control plane, where its package has one (for Terminate). */
  readonly control: ControlClient | undefined;
  close(): Promise<void>;
}

/**
 * Opens what URLs name, through the installed adapter packages. The backend defaults to the
 * broker's URL where one adapter family serves both (Redis); otherwise it must be given.
 */
export async function connectByUrl(brokerUrl: string, backendUrl?: string): Promise<Connections> {
  if (schemeOf(brokerUrl, 'broker') === 'memory')
    throw new ConfigError('memory:// lives inside one process; the dashboard needs a networked broker');
  const brokerMod = await adapterFor(brokerUrl, 'broker', BROKER_PACKAGES, 'brokerSchemes');
  let backendMod: AdapterModule;
  try {
    backendMod = await adapterFor(
      backendUrl ?? brokerUrl,
      'result backend',
      BACKEND_PACKAGES,
      'backendSchemes',
    );
  } catch (error) {
    if (backendUrl) throw error;
    throw new ConfigError(
      `a ${schemeOf(brokerUrl, 'broker')}:// broker has no result backend of its own: pass --backend URL`,
      {
        cause: error,
      },
    );
  }
  const events = factory<EventReceiver>(brokerMod, 'createEventReceiver', 'broker')(brokerUrl);
  const broker = await factory<Broker | Promise<Broker>>(brokerMod, 'createBroker', 'broker')(brokerUrl);
  const backend = await factory<ResultBackend | Promise<ResultBackend>>(
    backendMod,
    'createResultBackend',
    'result backend',
  )(backendUrl ?? brokerUrl);
  const createControl = brokerMod.createControlTransport;
  const control =
    typeof createControl === 'function'
      ? createControlClient(
          await (createControl as (url: string) => ControlTransport | Promise<ControlTransport>)(brokerUrl),
        )
      : undefined;
  return {
    broker,
    backend,
    events,
    control,
    async close() {
      await Promise.allSettled([events.close(), control?.close(), broker.close(), backend.close()]);
    },
  };
}
