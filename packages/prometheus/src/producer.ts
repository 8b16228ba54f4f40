/**
 * `@celeriac/prometheus/producer`: the producer half of queue latency. Imports no worker code.
 *
 * @packageDocumentation
 */
import type { ClientInterceptor } from '@celeriac/core/producer';
import { SENT_AT_HEADER } from './sent-at.js';

export { SENT_AT_HEADER } from './sent-at.js';

/**
 * A client interceptor that stamps each message with its publish time, so workers' metrics
 * measure queue latency (`celeriac_queue_latency_seconds`) for messages without an `eta` too.
 *
 * @example
 * ```ts
 * const client = createClient({ broker, backend, interceptors: [stampSentAt()] });
 * ```
 */
export function stampSentAt(): ClientInterceptor {
  return {
    publish(out, next) {
      out.message.headers[SENT_AT_HEADER] = Date.now();
      return next(out);
    },
  };
}
