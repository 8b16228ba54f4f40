/**
 * `@celeriac/broker-rabbitmq`: a RabbitMQ (AMQP 0-9-1) broker for Celeriac on amqplib, sharing
 * queues with Python Celery.
 *
 * @packageDocumentation
 */
export { RabbitMQBroker } from './broker.js';
export { rabbitmqBrokerCapabilities, rabbitmqCapabilities } from './capabilities.js';
export {
  createControlTransport,
  type RabbitMQControlOptions,
  RabbitMQControlTransport,
} from './control-transport.js';
export { brokerSchemes, createBroker, optionsFromUrl } from './create-broker.js';
export { createEventReceiver, RabbitMQEventReceiver } from './event-receiver.js';
export { createEventTransport, RabbitMQEventTransport } from './event-transport.js';
export { DEAD_LETTER_EXCHANGE, deadLetterQueueName, delayLevelName, MAX_DELAY_MS } from './names.js';
export { DEFAULT_AMQP_URL, type RabbitMQBrokerOptions, type RabbitMQQueueType } from './options.js';
