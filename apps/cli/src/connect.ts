import type { Broker, ResultBackend } from '@celeriac/core';
import { backendFromUrl, brokerFromUrl, defaultBackendUrl } from './adapters.js';
import { checkBackend } from './preflight.js';

/** Connection flags shared by every command. */
export interface ConnectionFlags {
  readonly broker: string;
  readonly backend?: string;
}

/**
 * Opens the broker and backend named by URL; the backend defaults to the broker's own server. The
 * backend is checked at once (a Redis database the server lacks would otherwise read as "no
 * result"); the broker is checked by the command's first operation, which connects it.
 */
export async function connect(
  flags: ConnectionFlags,
): Promise<{ broker: Broker; backend: ResultBackend; close(): Promise<void> }> {
  if (flags.broker.startsWith('memory:')) {
    console.error(
      'celeriac: warning: memory:// lives in this process only; no worker elsewhere will see these tasks',
    );
  }
  const backendUrl = flags.backend ?? defaultBackendUrl(flags.broker);
  const [broker, backend] = await Promise.all([brokerFromUrl(flags.broker), backendFromUrl(backendUrl)]);
  await checkBackend(backend);
  return {
    broker,
    backend,
    close: async () => {
      await Promise.allSettled([broker.close(), backend.close()]);
    },
  };
}
