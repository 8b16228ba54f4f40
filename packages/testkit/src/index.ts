/**
 * `@celeriac/testkit`: the conformance suites every broker, result backend and event transport must
 * pass, and the small helpers they are written with (`waitFor`, `testMessage`, …).
 *
 * @packageDocumentation
 */
export { type BrokerSuiteOptions, idOf, testMessage } from './broker-context.js';
export { describeBroker } from './describe-broker.js';
export { type ControlTransportSuiteOptions, describeControlTransport } from './describe-control-transport.js';
export {
  describeEventTransport,
  type EventTransportSuiteOptions,
  testHeartbeat,
} from './describe-event-transport.js';
export { describeFlowStore, type FlowStoreSuiteOptions } from './describe-flow-store.js';
export { describeNestedCanvases, type NestedCanvasSuiteOptions } from './describe-nested-canvases.js';
export { describeResultBackend, type ResultBackendSuiteOptions } from './describe-result-backend.js';
export { describeScheduleStore, type ScheduleStoreSuiteOptions } from './describe-schedule-store.js';
export { describeWorkflowStore, type WorkflowStoreSuiteOptions } from './describe-workflow-store.js';
export { sleep, uniqueName, waitFor } from './wait-for.js';
