import type { Broker, OutgoingMessage } from '../broker.js';
import type { AnyTaskContract, InferTaskInput, InferTaskOutput } from '../contract.js';
import { type ControlClient, createControlClient } from '../control/client.js';
import type { ControlTransport } from '../control/transport.js';
import { ConfigError } from '../errors.js';
import {
  enqueueDeduped,
  pausedQueues,
  setQueuePaused,
  type TaskFinder,
  taskFinder,
} from '../flow/client-flow.js';
import { inputToCall } from '../input-mapping.js';
import { createOutgoingTaskMessage, DEFAULT_QUEUE, type Signature, type TaskMessage } from '../message.js';
import type { ResultBackend } from '../result-backend.js';
import { RESULT_TTL_HEADER } from '../result-ttl.js';
import { RETRY_POLICY_HEADER } from '../retry-policy.js';
import { type AnySchema, validate } from '../schema.js';
import { signingInterceptor } from '../signing/sign.js';
import type { SigningOptions } from '../signing/signing-options.js';
import {
  type ChainOutput,
  type CheckedChain,
  contractOf,
  type SignatureOutput,
  type TypedSignature,
} from './canvas.js';
import { hasNested, publishNestedChain, publishNestedChord, publishNestedGroup } from './canvas-nested.js';
import { publishChord, publishGroup } from './canvas-publish.js';
import { checkedPublisher } from './capability-check.js';
import { type ClientInterceptor, interceptPublishes } from './client-interceptor.js';
import type { EnqueueOptions } from './enqueue-options.js';
import { cancelTasks, createHandle, type TaskHandle } from './result-handle.js';

/** Options for {@link createClient}. */
export interface ClientOptions {
  readonly broker: Broker;
  /** Where results are read from; without it, handles cannot wait for results. */
  readonly backend?: ResultBackend;
  /** Queue for tasks whose contract names none. @default 'celery' */
  readonly defaultQueue?: string;
  /** Messages per `publishMany` round trip in `enqueueMany`. @default 1000 */
  readonly batchSize?: number;
  /** Wrap every publish, first one outermost (e.g. to add a `traceparent` header). @default none */
  readonly interceptors?: readonly ClientInterceptor[];
  /**
   * Sign every message (HMAC-SHA256, after the interceptors above), for workers that require signed
   * messages. @default off
   */
  readonly signing?: SigningOptions;
  /**
   * Celery's remote control (an adapter's `createControlTransport`): `client.control` and
   * `handle.cancel()` aborting running tasks. Closed with the client. @default none
   */
  readonly control?: ControlTransport;
}

/** The handles of a group, in order, and a `cancel` for every member not finished yet. */
export type GroupHandles<TSigs extends readonly Signature[]> = {
  -readonly [K in keyof TSigs]: TaskHandle<SignatureOutput<TSigs[K]>>;
} & { cancel(): Promise<void> };

/** An untyped call by task name, e.g. to a Python task with no local contract. */
export interface UntypedCall {
  readonly args?: unknown[];
  readonly kwargs?: Record<string, unknown>;
}

/** The producer side: enqueue typed tasks and get typed result handles. */
export interface Client {
  /** Validates the input against the contract, publishes, and returns a typed handle. */
  enqueue<T extends AnyTaskContract>(
    contract: T,
    input: InferTaskInput<T>,
    options?: EnqueueOptions,
  ): Promise<TaskHandle<InferTaskOutput<T>>>;
  /** Validates every input first (all or nothing), then publishes in batches. */
  enqueueMany<T extends AnyTaskContract>(
    contract: T,
    inputs: readonly InferTaskInput<T>[],
    options?: EnqueueOptions,
  ): Promise<TaskHandle<InferTaskOutput<T>>[]>;
  /** Sends a task by name with no contract (no validation, untyped result). */
  send(name: string, call?: UntypedCall, options?: EnqueueOptions): Promise<TaskHandle<unknown>>;
  /**
   * Runs signatures one after another, each receiving the previous result; returns the last step's
   * handle. A step whose input cannot take the previous step's output is a type error.
   */
  chain<TSteps extends readonly [Signature, ...Signature[]]>(
    steps: TSteps & CheckedChain<TSteps>,
    options?: EnqueueOptions,
  ): Promise<TaskHandle<ChainOutput<TSteps>>>;
  /** Runs signatures in parallel (fan-out); returns one typed handle per member, in order. */
  group<const TSigs extends readonly Signature[]>(members: TSigs): Promise<GroupHandles<TSigs>>;
  /**
   * Runs the header in parallel, then the body with the list of header results (fan-in). Needs a
   * result backend, where the join is counted.
   */
  chord<TBody extends Signature>(
    header: readonly Signature[],
    body: TBody,
  ): Promise<TaskHandle<SignatureOutput<TBody>>>;
  /** A handle on an existing task id. */
  handle<T extends AnyTaskContract>(contract: T, id: string): TaskHandle<InferTaskOutput<T>>;
  /**
   * Celery's remote control: `ping`, `inspect()`, `revoke`, `rateLimit`, `timeLimit`, `shutdown`, …
   * Throws `ConfigError` on use when the client was made without a `control` transport.
   */
  readonly control: ControlClient;
  /**
   * Pauses a queue fleet-wide: every worker stops fetching from it within a second, running tasks
   * finish. Needs a result backend that keeps flow state (memory or Redis).
   */
  pauseQueue(queue: string): Promise<void>;
  /** Resumes a queue paused with {@link Client.pauseQueue}. */
  resumeQueue(queue: string): Promise<void>;
  /** The queues paused fleet-wide. */
  pausedQueues(): Promise<string[]>;
  /** Recent tasks from the backend's task index (`client.tasks.list({ state: 'FAILURE' })`). */
  readonly tasks: TaskFinder;
  /** Closes the broker and backend this client was given. */
  close(): Promise<void>;
}

function buildMessage(
  name: string,
  call: { args: unknown[]; kwargs: Record<string, unknown> },
  contract: AnyTaskContract | undefined,
  options: EnqueueOptions,
): TaskMessage {
  const d = contract?.defaults ?? {};
  const expiresMs = options.expiresMs ?? d.expiresMs;
  // Only read the clock when a relative time needs it.
  const now = options.delayMs || expiresMs ? Date.now() : 0;
  const eta = options.eta ?? (options.delayMs ? new Date(now + options.delayMs) : null);
  const expires = options.expiresAt ?? (expiresMs ? new Date(now + expiresMs) : null);
  const retry = options.retry ?? d.retry;
  let headers = options.headers as Record<string, unknown> | undefined;
  if (retry) headers = { ...headers, [RETRY_POLICY_HEADER]: retry };
  const resultTtlMs = options.resultTtlMs ?? d.resultTtlMs;
  if (resultTtlMs !== undefined) headers = { ...headers, [RESULT_TTL_HEADER]: resultTtlMs };
  // The message goes from here to the publisher: its args' and kwargs' JSON is written once.
  return createOutgoingTaskMessage({
    task: name,
    args: call.args,
    kwargs: call.kwargs,
    // Most calls have no links: the message's own empty embed, with no object to merge.
    embed:
      options.link || options.linkError
        ? {
            callbacks: options.link ? [...options.link] : null,
            errbacks: options.linkError ? [...options.linkError] : null,
          }
        : undefined,
    eta,
    expires,
    timeLimitMs: options.timeoutMs ?? d.timeoutMs ?? null,
    softTimeLimitMs: options.softTimeoutMs ?? d.softTimeoutMs ?? null,
    priority: options.priority ?? d.priority,
    ignoreResult: options.ignoreResult ?? d.ignoreResult ?? false,
    headers,
    // Empty strings mean "not set", as before: `||` rather than `??`.
    id: options.taskId || undefined,
    rootId: options.rootId || undefined,
    parentId: options.parentId || undefined,
  });
}

function outgoing(message: TaskMessage, queue: string, options: EnqueueOptions): OutgoingMessage {
  const delayMs = delayOf(message);
  if (delayMs === 0 && !options.orderingKey) return { queue, message };
  return {
    queue,
    message,
    ...(delayMs > 0 ? { delayMs } : {}),
    ...(options.orderingKey ? { orderingKey: options.orderingKey } : {}),
  };
}

/** How long until the message's eta, 0 when it has none or it is due. */
function delayOf(message: TaskMessage): number {
  if (!message.headers.eta) return 0;
  const eta = Date.parse(message.headers.eta);
  const now = Date.now();
  return eta > now ? eta - now : 0;
}

/**
 * Creates the producer client. A call that asks for something the broker declares absent
 * (`priority`, or `delayMs`/`eta` on a broker without delays) fails with `UnsupportedError`
 * before anything is published.
 *
 * @example
 * ```ts
 * const client = createClient({ broker, backend });
 * const handle = await client.enqueue(add, { x: 2, y: 3 }, { delayMs: 500, priority: 5 });
 * const sum: number = await handle.result({ timeoutMs: 5_000 });
 * ```
 */
export function createClient(options: ClientOptions): Client {
  const { broker, backend } = options;
  const control = options.control ? createControlClient(options.control) : undefined;
  // Cancelling aborts running attempts only where a control transport reaches the workers.
  const links = control
    ? { revoke: (ids: readonly string[]) => control.revoke(ids, { terminate: true, reply: false }) }
    : {};
  const handleOf = <T>(id: string, name: string, output: AnySchema | undefined, members?: string[]) =>
    createHandle<T>(id, name, backend, output, members ? { ...links, members } : links);
  // Composed once: with no interceptors and a broker that has every capability asked of it, this
  // is the broker itself.
  const publisher = interceptPublishes(
    checkedPublisher(broker),
    options.signing
      ? [...(options.interceptors ?? []), signingInterceptor(options.signing)]
      : options.interceptors,
  );
  const defaultQueue = options.defaultQueue ?? DEFAULT_QUEUE;
  const batchSize = options.batchSize ?? 1000;
  const queueOf = (contract: AnyTaskContract | undefined, o: EnqueueOptions) =>
    o.queue ?? contract?.defaults.queue ?? defaultQueue;

  return {
    async enqueue(contract, input, o = {}) {
      // A sync schema returns at once: awaiting only a promise saves a microtask turn per call.
      const checked = validate(contract.input, input, contract.name, 'input');
      if (checked instanceof Promise) await checked;
      const queue = queueOf(contract, o);
      if (o.dedupe) {
        const call = inputToCall(contract, input);
        const id = await enqueueDeduped({
          backend,
          task: contract.name,
          dedupe: o.dedupe,
          options: o,
          build: (x) => buildMessage(contract.name, call, contract, x),
          publish: (m) => publisher.publish(outgoing(m, queue, o)),
        });
        return handleOf(id, contract.name, contract.output);
      }
      const message = buildMessage(contract.name, inputToCall(contract, input), contract, o);
      await publisher.publish(outgoing(message, queue, o));
      return handleOf(message.headers.id, contract.name, contract.output);
    },
    async enqueueMany(contract, inputs, o = {}) {
      if (o.taskId && inputs.length > 1)
        throw new ConfigError('enqueueMany: taskId cannot be shared by several tasks');
      if (o.dedupe) throw new ConfigError('enqueueMany: a dedupe key cannot be shared by several tasks');
      for (const input of inputs) {
        const checked = validate(contract.input, input, contract.name, 'input');
        if (checked instanceof Promise) await checked;
      }
      const queue = queueOf(contract, o);
      const items = inputs.map((input) =>
        outgoing(buildMessage(contract.name, inputToCall(contract, input), contract, o), queue, o),
      );
      // One batch (the usual case) goes as it is, without a copy.
      for (let i = 0; i < items.length; i += batchSize)
        await publisher.publishMany(items.length <= batchSize ? items : items.slice(i, i + batchSize));
      return items.map((item) => handleOf(item.message.headers.id, contract.name, contract.output));
    },
    async send(name, call = {}, o = {}) {
      if (o.dedupe) {
        const args = { args: call.args ?? [], kwargs: call.kwargs ?? {} };
        const id = await enqueueDeduped({
          backend,
          task: name,
          dedupe: o.dedupe,
          options: o,
          build: (x) => buildMessage(name, args, undefined, x),
          publish: (m) => publisher.publish(outgoing(m, queueOf(undefined, o), o)),
        });
        return handleOf(id, name, undefined);
      }
      const message = buildMessage(name, { args: call.args ?? [], kwargs: call.kwargs ?? {} }, undefined, o);
      await publisher.publish(outgoing(message, queueOf(undefined, o), o));
      return handleOf(message.headers.id, name, undefined);
    },
    async chain(steps, o = {}) {
      // Steps that are canvases themselves (a group, a chord, a chain) go as Celery nests them.
      if (hasNested(steps)) {
        const c = await publishNestedChain(publisher, backend, steps);
        return handleOf(c.id, c.name, c.output, c.members);
      }
      const [first, ...rest] = steps;
      const last = steps[steps.length - 1] as TypedSignature<AnyTaskContract>;
      const firstId = String(first.options.task_id ?? '') || undefined;
      // The first step's own queue (from its contract or signature options) wins over the call's.
      const options: EnqueueOptions = {
        ...o,
        ...(firstId ? { taskId: firstId } : {}),
        ...(typeof first.options.queue === 'string' ? { queue: first.options.queue } : {}),
      };
      const message = buildMessage(
        first.task,
        { args: first.args, kwargs: first.kwargs },
        undefined,
        options,
      );
      // Celery stores the remaining steps reversed: the next step is the last element.
      message.body[2] = {
        callbacks: null,
        errbacks: null,
        chord: null,
        ...message.body[2],
        chain: [...rest].reverse(),
      };
      await publisher.publish(outgoing(message, queueOf(undefined, options), o));
      const stepIds = [message.headers.id, ...rest.map((r) => String(r.options.task_id ?? ''))].filter(
        Boolean,
      );
      // The last step's output schema, as a single handle validates its contract's.
      const output = contractOf(last)?.output;
      return handleOf(String(last.options.task_id ?? message.headers.id), last.task, output, stepIds);
    },
    async group(members) {
      if (hasNested(members)) {
        const published = await publishNestedGroup(publisher, backend, members);
        const handles = published.map((c) => handleOf(c.id, c.name, c.output, c.members));
        const all = published.flatMap((c) => c.members);
        return Object.assign(handles, { cancel: () => cancelTasks(all, backend, links) }) as never;
      }
      const ids = await publishGroup(publisher, members);
      const handles = ids.map((id, i) => {
        const member = members[i];
        return handleOf(id, member?.task ?? '', member ? contractOf(member)?.output : undefined);
      });
      return Object.assign(handles, { cancel: () => cancelTasks(ids, backend, links) }) as never;
    },
    async chord(header, body) {
      if (hasNested([...header, body])) {
        const c = await publishNestedChord(publisher, backend, header, body);
        return handleOf(c.id, c.name, c.output, c.members);
      }
      const { bodyId, memberIds } = await publishChord(publisher, backend, header, body);
      return handleOf(bodyId, body.task, contractOf(body)?.output, memberIds);
    },
    handle(contract, id) {
      return handleOf(id, contract.name, contract.output);
    },
    pauseQueue: (queue) => setQueuePaused(backend, queue, true),
    resumeQueue: (queue) => setQueuePaused(backend, queue, false),
    pausedQueues: () => pausedQueues(backend),
    tasks: taskFinder(backend),
    get control(): ControlClient {
      if (!control)
        throw new ConfigError('this client has no control transport; pass `control` to createClient');
      return control;
    },
    async close() {
      await Promise.all([broker.close(), backend?.close(), control?.close()]);
    },
  };
}
