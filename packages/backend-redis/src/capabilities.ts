import type { BackendCapabilities } from '@celeriac/core';

/**
 * What the Redis result backend supports: pushed waits (pub/sub), TTLs, results that outlive the
 * writing process, and chord joins that are atomic across processes (one `MULTI` per part).
 */
export const redisBackendCapabilities: BackendCapabilities = Object.freeze({
  push: true,
  ttl: true,
  durable: true,
  chord: true,
});
