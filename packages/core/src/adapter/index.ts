/**
 * `@celeriac/core/adapter`: what authors of broker and result backend adapters need — the seams
 * (`Broker`, `Consumer`, `Delivery`, `ResultBackend`), the Celery v2 message model and its wire
 * encoding, kombu's JSON codec, result-meta helpers, the errors adapters throw, and the shared
 * pieces every adapter needs: settle-once deliveries, decode-or-malformed, a URL redactor, a
 * per-turn batcher and the listeners of an event receiver.
 *
 * Applications import `@celeriac/core` instead. See `docs/writing-an-adapter.md`.
 *
 * @packageDocumentation
 */

export type {
  AckOptions,
  Broker,
  BrokerCapabilities,
  ConsumeOptions,
  Consumer,
  DeadLetter,
  DeadLetterReason,
  Delivery,
  DeliverySettlement,
  MalformedDelivery,
  OutgoingMessage,
  TaskDelivery,
} from '../broker.js';
export {
  type ControlReply,
  type ControlReplyHeaders,
  type ControlReplyTo,
  type ControlRequest,
  type ControlRequestHeaders,
  DEFAULT_CONTROL_NAMESPACE,
  isAddressedTo,
  type MailboxNames,
  mailboxNames,
  parseControlRequest,
} from '../control/protocol.js';
export { type ReplyCollection, ReplyCollectors } from '../control/reply-collectors.js';
export {
  DEFAULT_REVOKE_TTL_MS,
  DEFAULT_REVOKES_MAX,
  hasRevokeStore,
  MemoryRevokeStore,
  type RevokedEntry,
  type RevokeStore,
} from '../control/revoke-store.js';
export type {
  CollectOptions,
  ControlBrokerInfo,
  ControlMessage,
  ControlTransport,
  StopListening,
} from '../control/transport.js';
export {
  BrokerError,
  CeleriacError,
  type CeleriacErrorOptions,
  ClosedError,
  ConfigError,
  DecodeError,
  EncodeError,
  UnsupportedError,
} from '../errors.js';
export {
  type DedupeClaim,
  type DedupeMode,
  type FlowStore,
  flowStoreOf,
  type LeaseRef,
  type RateRequest,
  type RateReservation,
  type WithFlowStore,
} from '../flow/flow-store.js';
export { MemoryFlowStore } from '../flow/memory-flow-store.js';
export {
  DEFAULT_LIST_LIMIT,
  DEFAULT_TASK_INDEX_SIZE,
  MemoryTaskIndex,
  matchesQuery,
  sinceOf,
  type TaskIndex,
  type TaskIndexOption,
  type TaskListQuery,
  type TaskSummary,
  taskIndexOf,
  taskIndexSizeOf,
  type WithTaskIndex,
} from '../flow/task-index.js';
export { decodeJson, type EncodeJsonOptions, encodeJson, type TaggedString } from '../json-codec.js';
export { memoryBackendCapabilities } from '../memory/memory-backend.js';
export { memoryBrokerCapabilities } from '../memory/memory-broker.js';
export { MemoryScheduleStore } from '../memory/memory-schedule-store.js';
export { MemoryWorkflowStore } from '../memory/memory-workflow-store.js';
export {
  clampPriority,
  createTaskMessage,
  DEFAULT_QUEUE,
  parseCeleryDate,
  type Signature,
  type TaskBody,
  type TaskEmbed,
  type TaskHeaders,
  type TaskMessage,
  type TaskMessageInit,
  type TaskProperties,
} from '../message.js';
export {
  type CatchUp,
  hasScheduleStore,
  type ScheduleCallOptions,
  type ScheduleSpec,
  type ScheduleStore,
  type StoredSchedule,
  type TickClaim,
} from '../producer/schedule-store.js';
export {
  type BackendCapabilities,
  type ChordJoin,
  type ChordPart,
  type ExceptionInfo,
  hasChordJoin,
  READY_STATES,
  type ResultBackend,
  type ResultMeta,
  type StoreOptions,
  TaskState,
  type WaitOptions,
} from '../result-backend.js';
export { buildMeta, fromExceptionInfo, toExceptionInfo } from '../result-meta.js';
export { decodeTaskMessage, encodeBody, encodeHeaders, type WireParts } from '../wire.js';
export {
  hasWorkflowStore,
  type UpstreamFailure,
  type WorkflowNodeLinks,
  type WorkflowNodeState,
  type WorkflowSnapshot,
  type WorkflowStore,
  type WorkflowTransition,
} from '../workflow/workflow-store.js';
export {
  type CarriedStore,
  type CarriesStores,
  carriedStoreOf,
  type RedisTargetParts,
  redisTarget,
} from './carried-store.js';
export { type DecodedMessage, decodeOrMalformed } from './decode-or-malformed.js';
export { type EventListener, EventListeners } from './event-listeners.js';
export { redactUrl } from './redact-url.js';
export {
  createDelivery,
  SettleOnce,
  SettleOnceMalformed,
  SettleOnceTask,
  type Settler,
} from './settle-once.js';
export { type BatchOutcome, TickBatcher } from './tick-batcher.js';
