import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisResultBackend, type RedisResultBackendOptions } from '../src/index.js';

/** The Redis every test file talks to. */
export const REDIS_URL = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';

const opened: (Redis | RedisResultBackend)[] = [];

/** A backend on the test Redis with a unique connection name; closed by {@link closeAll}. */
export function backend(options: RedisResultBackendOptions = {}): RedisResultBackend {
  const b = new RedisResultBackend({
    url: REDIS_URL,
    connectionName: `celeriac-test-${randomUUID()}`,
    ...options,
  });
  opened.push(b);
  return b;
}

/** A raw client for checking what is on the wire; closed by {@link closeAll}. */
export function raw(url = REDIS_URL): Redis {
  const client = new Redis(url, { lazyConnect: false });
  client.on('error', () => {});
  opened.push(client);
  return client;
}

/** Closes everything opened through the helpers. */
export async function closeAll(): Promise<void> {
  await Promise.allSettled(
    opened
      .splice(0)
      .map((o) => (o instanceof RedisResultBackend ? o.close() : o.quit().catch(() => o.disconnect()))),
  );
}

/** Subscribes a separate connection to `channel` and collects what is published there. */
export async function listen(channel: string): Promise<{ messages: string[] }> {
  const sub = raw();
  const messages: string[] = [];
  sub.on('message', (ch: string, text: string) => {
    if (ch === channel) messages.push(text);
  });
  await sub.subscribe(channel);
  return { messages };
}
