/**
 * `@celeriac/broker-kafka`: a Celeriac broker on Apache Kafka, with task-queue semantics.
 *
 * @packageDocumentation
 */
export { DEFAULT_MAX_MESSAGE_BYTES, kafkaBrokerCapabilities } from './capabilities.js';
export {
  createControlTransport,
  type KafkaControlOptions,
  KafkaControlTransport,
} from './control-transport.js';
export { createEventReceiver, KafkaEventReceiver } from './event-receiver.js';
export { createEventTransport, EVENT_TOPIC, KafkaEventTransport } from './event-transport.js';
export { KafkaBroker } from './kafka-broker.js';
export type { QueueTopics } from './naming.js';
export {
  DEFAULT_DELAY_TIERS_MS,
  type KafkaBrokerOptions,
  type KafkaSaslMechanism,
  type KafkaSaslOptions,
  type KafkaTlsOptions,
} from './options.js';
export type { KafkajsLogLevel } from './transport/kafkajs-transport.js';
export type * from './transport/types.js';
export { brokerSchemes, createBroker, parseKafkaUrl } from './url.js';
