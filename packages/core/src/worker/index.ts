/**
 * The worker side of Celeriac: bind handlers to contracts and run them.
 *
 * @packageDocumentation
 */

export type { OutgoingMessage } from '../broker.js';
export { MemoryControlBus, MemoryControlTransport } from '../control/memory-transport.js';
export { type ControlNode, type ControlNodeOptions, startControlNode } from '../control/node.js';
export { RevokedSet, type RevokedSetOptions } from '../control/revoked-set.js';
export type {
  ControlRequestInfo,
  ControlRevokeOptions,
  ControlStatsInfo,
  ControlTarget,
  ControlTaskInfo,
  ControlTimeLimits,
} from '../control/target.js';
export type { ControlTransport } from '../control/transport.js';
export type { PublishNext } from '../producer/client-interceptor.js';
export type { SigningKey, SigningOptions } from '../signing/signing-options.js';
export {
  type CeleryEvent,
  type CeleryEventOptions,
  type CeleryEventsHandle,
  type EventTransport,
  sendCeleryEvents,
} from './celery-events.js';
export { type EventReceiver, type EventReceiverOptions, eventsOf } from './event-receiver.js';
export type { TaskEventSwitch } from './event-switch.js';
export type {
  ImplementOptions,
  TaskContext,
  TaskHandler,
  TaskImplementation,
  TaskIsolation,
} from './implement.js';
export { implement } from './implement.js';
export {
  type AutoscaleOptions,
  createWorker,
  type Worker,
  type WorkerOptions,
  type WorkerStats,
} from './worker.js';
export type { TaskEventMap, TaskEventName } from './worker-events.js';
export type { ExecuteNext, WorkerInterceptor } from './worker-interceptor.js';
export type { ResolvedWorkerLimits, WorkerLimits } from './worker-limits.js';
