/** The backend's Redis connections: opening, closing, and the error shape of a batch item. */
import { Redis, type RedisOptions } from 'ioredis';

/** One item's failure inside a batch script, shaped as the reply error it stands for. */
export function itemReplyError(text: string | undefined): Error {
  const error = new Error(text ?? 'no reply for this item');
  error.name = 'ReplyError';
  return error;
}

/** Opens one of the backend's connections. */
export function openClient(options: RedisOptions, name: string): Redis {
  const client = new Redis({ ...options, connectionName: name });
  // Failures surface on the commands that hit them; an unhandled 'error' event would only log.
  client.on('error', () => {});
  return client;
}

/** Quits a connection, or drops it when quitting fails. */
export async function closeClient(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  await client.quit().catch(() => client.disconnect());
}
