/**
 * The producer side of Celeriac: enqueue typed tasks, get typed result handles. Imports no worker code.
 *
 * @packageDocumentation
 */

export type { OutgoingMessage } from '../broker.js';
export {
  type CommandReply,
  type ControlCallOptions,
  type ControlClient,
  type ControlClientOptions,
  type ControlCommandOptions,
  type ControlInspector,
  createControlClient,
  type RepliesByNode,
  type RevokeOptions,
} from '../control/client.js';
export { MemoryControlBus, MemoryControlTransport } from '../control/memory-transport.js';
export type { ControlTransport } from '../control/transport.js';
export {
  DEDUPE_HOLD_MS,
  type DedupeOptions,
  type TaskFinder,
} from '../flow/client-flow.js';
export type { Signature } from '../message.js';
export { SIGNATURE_HEADER, SIGNATURE_KEY_HEADER } from '../signing/canonical.js';
export { signingInterceptor } from '../signing/sign.js';
export type { SigningKey, SigningOptions } from '../signing/signing-options.js';
export type {
  UpstreamFailure,
  WorkflowNodeLinks,
  WorkflowNodeState,
  WorkflowSnapshot,
  WorkflowStore,
  WorkflowTransition,
} from '../workflow/workflow-store.js';
export {
  type CanvasSignature,
  type ChainOutput,
  type ChainStepMismatch,
  type CheckedChain,
  chainSignature,
  chordSignature,
  groupSignature,
  type SignatureAccepts,
  type SignatureAcceptsOf,
  type SignatureOptions,
  type SignatureOutput,
  signature,
  type TypedSignature,
} from './canvas.js';
export {
  type Client,
  type ClientOptions,
  createClient,
  type GroupHandles,
  type UntypedCall,
} from './client.js';
export type { ClientInterceptor, PublishNext } from './client-interceptor.js';
export type { EnqueueOptions } from './enqueue-options.js';
export { chunks, type MapItem, xmap, xstarmap } from './map-canvas.js';
export { deadLetterTask, type RedriveOutcome, redriveDeadLetters } from './redrive.js';
export type { ResultOptions, TaskHandle, TaskStatus } from './result-handle.js';
export type {
  ScheduleDefinition,
  ScheduleInfo,
  ScheduleTiming,
  UntypedScheduleDefinition,
} from './schedule-definition.js';
export {
  type CatchUp,
  hasScheduleStore,
  type ScheduleCallOptions,
  type ScheduleSpec,
  type ScheduleStore,
  type StoredSchedule,
  type TickClaim,
} from './schedule-store.js';
export {
  createScheduler,
  type Schedule,
  type ScheduleLock,
  type Scheduler,
  type SchedulerOptions,
  tickTaskId,
} from './scheduler.js';
export { type Settled, waitMany } from './wait-many.js';
export {
  type DefinedNode,
  type StepOptions,
  step,
  type UpstreamResults,
  type Workflow,
  type WorkflowCycle,
  type WorkflowNode,
  type WorkflowOptions,
  type WorkflowResults,
  workflow,
} from './workflow/define.js';
export type { WorkflowRun, WorkflowStartOptions, WorkflowStatus } from './workflow/run.js';
