import { BrokerError, CeleriacError } from '@celeriac/core';

/** Wraps a client error as a {@link BrokerError}, keeping kafkajs's retriable flag. */
export function toCeleriacError(error: unknown, what: string): CeleriacError {
  if (CeleriacError.is(error)) return error;
  const retriable =
    typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable === true;
  const detail = error instanceof Error ? error.message : String(error);
  return new BrokerError('kafka', `${what}: ${detail}`, retriable, { cause: error });
}
