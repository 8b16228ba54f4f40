/**
 * `@celeriac/core`: what an application needs — typed task contracts, errors, task states, the
 * `Broker` and `ResultBackend` types, and the embedded in-memory broker and backend.
 *
 * Producer code imports `@celeriac/core/producer`; worker code imports `@celeriac/core/worker`;
 * authors of broker and backend adapters import `@celeriac/core/adapter`.
 *
 * @packageDocumentation
 */

export type { Broker, BrokerCapabilities, DeadLetter, DeadLetterReason } from './broker.js';
export {
  type AnyTaskContract,
  type ConcurrencyLimit,
  defineTask,
  type InferTaskInput,
  type InferTaskOutput,
  type InferTaskParsedInput,
  type InferTaskReturn,
  type RateLimitByKey,
  type RetryPolicy,
  type TaskContract,
  type TaskDefaults,
  type TaskDefinition,
} from './contract.js';
export {
  BrokerError,
  CeleriacError,
  type CeleriacErrorCode,
  type CeleriacErrorOf,
  type CeleriacErrorOptions,
  ClosedError,
  ConfigError,
  DecodeError,
  EncodeError,
  NonRetriableError,
  RemoteTaskError,
  ResultNotStorableError,
  ResultTimeoutError,
  RetryAfterError,
  SignatureError,
  type SignatureFailure,
  TaskNotRegisteredError,
  TaskRevokedError,
  TimeLimitExceeded,
  UnsupportedError,
  ValidationError,
  type ValidationIssue,
} from './errors.js';
export { TASK_FAILED } from './flow/flow-headers.js';
export type { DedupeMode } from './flow/flow-store.js';
export { type ParsedRate, parseRateLimit, type RateLimit } from './flow/rate-limit.js';
export type { TaskIndexOption, TaskListQuery, TaskSummary } from './flow/task-index.js';
export type { MemoryBrokerOptions } from './memory/dead-letter-list.js';
export { MemoryResultBackend, type MemoryResultBackendOptions } from './memory/memory-backend.js';
export { MemoryBroker } from './memory/memory-broker.js';
export { sharedMemoryBackend, sharedMemoryBroker } from './memory/shared-memory.js';
export { DEFAULT_QUEUE, type TaskHeaders, type TaskMessage } from './message.js';
export {
  type BackendCapabilities,
  type ExceptionInfo,
  READY_STATES,
  type ResultBackend,
  type ResultMeta,
  TaskState,
} from './result-backend.js';
export type { AnySchema, SchemaInput, SchemaOutput } from './schema.js';
export type { SigningKey, SigningOptions } from './signing/signing-options.js';
