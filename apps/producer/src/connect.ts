import { type Broker, backendFromUrl, brokerFromUrl, type ResultBackend } from '@celeriac/core';

/** Connection flags shared by every command. */
export interface ConnectionFlags {
  readonly broker: string;
  readonly backend?: string;
}

/** Opens the broker and backend named by URL; the backend defaults to the broker's Redis. */
export async function connect(
  flags: ConnectionFlags,
): Promise<{ broker: Broker; backend: ResultBackend; close(): Promise<void> }> {
  const importer = (name: string) => import(name);
  if (flags.broker.startsWith('memory:')) {
    console.error(
      'celeriac: warning: memory:// lives in this process only; no worker elsewhere will see these tasks',
    );
  }
  const backendUrl = flags.backend ?? (flags.broker.startsWith('redis') ? flags.broker : 'memory://');
  const [broker, backend] = await Promise.all([
    brokerFromUrl(flags.broker, importer),
    backendFromUrl(backendUrl, importer),
  ]);
  return {
    broker,
    backend,
    close: async () => {
      await Promise.allSettled([broker.close(), backend.close()]);
    },
  };
}
