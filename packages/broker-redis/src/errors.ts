import { BrokerError, CeleriacError, ConfigError } from '@celeriac/core';

const AUTH =
  /WRONGPASS|NOAUTH|invalid password|invalid username|NOPERM|-ERR AUTH|AUTH <password> called without/i;
const TRANSIENT = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|MOVED|ASK)\b/;

function text(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Whether a Redis failure is an authentication or permission problem (fix the config). */
export function isAuthError(error: unknown): boolean {
  return AUTH.test(text(error));
}

/**
 * Turns anything ioredis throws into a Celeriac error: auth/ACL failures become
 * {@link ConfigError}; server replies are retriable only when Redis says so (loading, failover,
 * resharding); connection failures are retriable.
 */
export function toCeleriacError(error: unknown, what: string, where?: string): CeleriacError {
  if (CeleriacError.is(error)) return error;
  const message = text(error);
  const place = where ? ` (${where})` : '';
  if (isAuthError(error)) {
    return new ConfigError(`redis: authentication or permission failed${place}: ${message}`, {
      cause: error,
    });
  }
  const isReply = error instanceof Error && error.name === 'ReplyError';
  const retriable = !isReply || TRANSIENT.test(message);
  return new BrokerError('redis', `${what}${place}: ${message}`, retriable, { cause: error });
}
