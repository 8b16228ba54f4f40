import { BrokerError, CeleriacError, ConfigError } from '@celeriac/core';

/**
 * The adapter name carried by every transport error this package raises, so a log line says the
 * result backend failed, not the broker (both are `BrokerError`s: a failed remote operation).
 */
export const ADAPTER = 'redis result backend';

/** Server replies that mean "try again later" rather than "this can never work". */
const TRANSIENT_REPLY = /^(READONLY|LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|OOM|NOREPLICAS)\b/;

/** Replies that mean the credentials or the ACL are wrong: no retry fixes them. */
const AUTH_REPLY =
  /WRONGPASS|NOAUTH|invalid password|invalid username|NOPERM|-ERR AUTH|AUTH <password> called without/i;

/**
 * Wraps an ioredis failure in a Celeriac error, as the Redis broker does: an authentication or
 * permission failure is a {@link ConfigError} (fix the URL or the ACL); other reply errors are final
 * unless the server says it is busy or failing over; connection-level errors (no reply at all) are
 * retriable. Those last two are {@link BrokerError}s labelled with {@link ADAPTER}.
 */
export function toCeleriacError(error: unknown, operation: string): CeleriacError {
  if (CeleriacError.is(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (AUTH_REPLY.test(message)) {
    return new ConfigError(`${ADAPTER}: authentication or permission failed (${operation}): ${message}`, {
      cause: error,
    });
  }
  const isReply = error instanceof Error && error.name === 'ReplyError';
  const retriable = !isReply || TRANSIENT_REPLY.test(message);
  return new BrokerError(ADAPTER, `${operation} failed: ${message}`, retriable, { cause: error });
}
