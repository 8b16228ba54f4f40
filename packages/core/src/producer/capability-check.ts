import type { Broker, OutgoingMessage } from '../broker.js';
import { UnsupportedError } from '../errors.js';
import type { Publisher } from './client-interceptor.js';

/** What `message` asks of `broker` that the broker declares absent, if anything. */
function unsupportedBy(broker: Broker, out: OutgoingMessage): UnsupportedError | undefined {
  const { capabilities } = broker;
  if (!capabilities.priority && out.message.properties.priority != null)
    return new UnsupportedError(broker.name, 'priority');
  if (!capabilities.delay && (out.delayMs || out.message.headers.eta))
    return new UnsupportedError(broker.name, 'delayed delivery (delayMs, eta)');
  return undefined;
}

/**
 * The broker as the client publishes to it: a message asking for a capability the broker declares
 * absent (priority, delay) fails with {@link UnsupportedError} before anything is published, rather
 * than being sent and silently served without it. A broker that declares both is returned as is.
 */
export function checkedPublisher(broker: Broker): Publisher {
  if (broker.capabilities.priority && broker.capabilities.delay) return broker;
  return {
    publish(message) {
      const error = unsupportedBy(broker, message);
      return error ? Promise.reject(error) : broker.publish(message);
    },
    publishMany(messages) {
      for (const message of messages) {
        const error = unsupportedBy(broker, message);
        if (error) return Promise.reject(error);
      }
      return broker.publishMany(messages);
    },
  };
}
