import { BrokerError, CeleriacError } from '@celeriac/core';

/** The adapter name carried by every error this package raises. */
export const ADAPTER = 'backend-redis';

/** Server replies that mean "try again later" rather than "this can never work". */
const TRANSIENT_REPLY = /^(READONLY|LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|OOM|NOREPLICAS)\b/;

/**
 * Wraps an ioredis failure in a {@link BrokerError}. Reply errors are final unless the server says
 * it is busy or failing over; connection-level errors (no reply at all) are retriable.
 */
export function toBackendError(operation: string, error: unknown): CeleriacError {
  if (CeleriacError.is(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const isReply = error instanceof Error && error.name === 'ReplyError';
  const retriable = !isReply || TRANSIENT_REPLY.test(message);
  return new BrokerError(ADAPTER, `${operation} failed: ${message}`, retriable, { cause: error });
}
