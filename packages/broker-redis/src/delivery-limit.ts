import { ConfigError } from '@celeriac/core';

/**
 * The delivery limit of the fetch script. Where the consumer's owner enforces its own limit (the
 * worker stores a FAILURE before dead-lettering), the broker's stays a crash-loop backstop well
 * above it, so the owner sees the delivery over its limit first.
 */
export function deliveryLimit(brokerLimit: number, ownerLimit: number | undefined): number {
  if (ownerLimit === undefined) return brokerLimit;
  if (!Number.isInteger(ownerLimit) || ownerLimit < 1) {
    throw new ConfigError(`redis broker: maxDeliveries must be a positive integer, got ${ownerLimit}`);
  }
  return Math.max(brokerLimit, ownerLimit * 2, ownerLimit + 10);
}
