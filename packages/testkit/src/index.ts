/**
 * `@celeriac/testkit`: the conformance suites every broker and result backend must pass, and
 * helpers for service-backed tests.
 *
 * @packageDocumentation
 */
export { type BrokerSuiteOptions, idOf, testMessage } from './broker-context.js';
export { requireCelery } from './celery.js';
export { describeBroker } from './describe-broker.js';
export { type ControlTransportSuiteOptions, describeControlTransport } from './describe-control-transport.js';
export {
  describeEventTransport,
  type EventTransportSuiteOptions,
  testHeartbeat,
} from './describe-event-transport.js';
export { describeResultBackend, type ResultBackendSuiteOptions } from './describe-result-backend.js';
export { type OwnSentinelSet, startRedisSentinelSet } from './redis-sentinel.js';
export { freePort, type OwnRedisServer, startRedisServer } from './redis-server.js';
export { probeTcp, requireService } from './services.js';
export { sleep, uniqueName, waitFor } from './wait-for.js';
