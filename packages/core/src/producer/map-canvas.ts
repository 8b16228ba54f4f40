import type { AnyTaskContract, InferTaskInput, InferTaskOutput } from '../contract.js';
import { ConfigError } from '../errors.js';
import { callToInput } from '../input-mapping.js';
import type { Signature } from '../message.js';
import { type AnySchema, type StandardSchemaV1, validate } from '../schema.js';
import type { Client, UntypedCall } from './client.js';
import type { EnqueueOptions } from './enqueue-options.js';
import type { TaskHandle } from './result-handle.js';

/**
 * One item of `client.map`: Celery calls `task(item)`, so the item is the task's one positional
 * argument, its whole input when the input is not an object. For an object input, use `starmap`
 * with the values in the schema's key order.
 */
export type MapItem<T extends AnyTaskContract> =
  InferTaskInput<T> extends readonly unknown[]
    ? InferTaskInput<T>
    : InferTaskInput<T> extends Record<string, unknown>
      ? never
      : InferTaskInput<T>;

/** A list of one schema's values: what a map's handle validates its result with. */
function listOf(item: AnySchema): AnySchema {
  const schema: StandardSchemaV1<unknown[], unknown[]> = {
    '~standard': {
      version: 1,
      vendor: 'celeriac',
      async validate(value) {
        if (!Array.isArray(value)) return { issues: [{ message: 'expected a list' }] };
        const out: unknown[] = [];
        for (const [i, v] of value.entries()) {
          const r = await item['~standard'].validate(v);
          if (r.issues)
            return { issues: r.issues.map((issue) => ({ ...issue, path: [i, ...(issue.path ?? [])] })) };
          out.push(r.value);
        }
        return { value: out };
      },
    },
  };
  return schema as AnySchema;
}

/** The signature a built-in map task runs: a task by name, with no arguments of its own. */
function taskSignature(name: string, queue: string | undefined): Signature {
  return {
    task: name,
    args: [],
    kwargs: {},
    options: queue ? { queue } : {},
    subtask_type: null,
    immutable: false,
  };
}

/** What `xmap`/`xstarmap` publish: a `celery.map` or `celery.starmap` call, and how to read its result. */
interface MapCall {
  readonly name: 'celery.map' | 'celery.starmap';
  readonly call: UntypedCall;
  /** The contract's queue: a worker that has the task takes the whole map. */
  readonly queue: string | undefined;
  /** Each value checked against the contract's output. */
  readonly output: AnySchema | undefined;
}

/**
 * Checks every item against the contract (all before anything is published) and builds Celery's
 * `xmap`/`xstarmap` call: `{ task: <signature>, it: items }`.
 */
async function mapCall(
  spread: boolean,
  target: AnyTaskContract | string,
  items: readonly unknown[],
): Promise<MapCall> {
  const contract = typeof target === 'string' ? undefined : target;
  const name = typeof target === 'string' ? target : target.name;
  if (contract) {
    for (const item of items) {
      if (spread && !Array.isArray(item))
        throw new ConfigError(`xstarmap of ${name}: each item is a list of positional arguments`);
      const args = spread ? (item as unknown[]) : [item];
      await validate(contract.input, callToInput(contract, args, {}), name, 'input');
    }
  }
  const queue = contract?.defaults.queue;
  return {
    name: spread ? 'celery.starmap' : 'celery.map',
    call: { kwargs: { task: taskSignature(name, queue), it: [...items] } },
    queue,
    output: contract ? listOf(contract.output) : undefined,
  };
}

/** The handle, with its result checked against `output` (a handle by name checks nothing). */
function checkedHandle<T>(handle: TaskHandle<unknown>, output: AnySchema | undefined): TaskHandle<T> {
  if (!output) return handle as TaskHandle<T>;
  return {
    ...handle,
    async result(options) {
      return (await validate(output, await handle.result(options), handle.name, 'output')) as T;
    },
  };
}

async function publishMap<T>(
  client: Client,
  spread: boolean,
  target: AnyTaskContract | string,
  items: readonly unknown[],
  options: EnqueueOptions,
): Promise<TaskHandle<T>> {
  const m = await mapCall(spread, target, items);
  const handle = await client.send(m.name, m.call, { ...(m.queue ? { queue: m.queue } : {}), ...options });
  return checkedHandle<T>(handle, m.output);
}

/**
 * Celery's `xmap` (`task.map(items)`): one `celery.map` message whose worker calls the task once per
 * item, `task(item)`, and returns the list of values. Items are validated first; the handle's
 * result is checked against the contract's output. Any worker that has the task runs it, Python
 * or TypeScript. The task's input must not be an object (each item is its one positional
 * argument): for object inputs use {@link xstarmap}.
 *
 * @example
 * ```ts
 * const squares = await xmap(client, square, [1, 2, 3]);
 * await squares.result(); // [1, 4, 9]
 * ```
 */
export function xmap<T extends AnyTaskContract>(
  client: Client,
  task: T,
  items: readonly MapItem<T>[],
  options?: EnqueueOptions,
): Promise<TaskHandle<InferTaskOutput<T>[]>>;
/** `xmap` of a task by name (e.g. a Python task): nothing checked, untyped values. */
export function xmap(
  client: Client,
  task: string,
  items: readonly unknown[],
  options?: EnqueueOptions,
): Promise<TaskHandle<unknown[]>>;
export function xmap(
  client: Client,
  task: AnyTaskContract | string,
  items: readonly unknown[],
  options: EnqueueOptions = {},
): Promise<TaskHandle<unknown[]>> {
  return publishMap(client, false, task, items, options);
}

/**
 * Celery's `xstarmap` (`task.starmap(items)`): as {@link xmap}, with each item a list of positional
 * arguments, `task(*item)`; for an object input they fill its keys in schema order.
 */
export function xstarmap<T extends AnyTaskContract>(
  client: Client,
  task: T | string,
  items: readonly (readonly unknown[])[],
  options: EnqueueOptions = {},
): Promise<TaskHandle<T extends AnyTaskContract ? InferTaskOutput<T>[] : unknown[]>> {
  return publishMap(client, true, task, items, options);
}

/**
 * Celery's `chunks` (`task.chunks(items, size)`): the items split into parts of `size`, each run by
 * a `celery.starmap` task of one group, so a long list is spread over several workers. One handle
 * per part, in order, each with that part's values.
 */
export async function chunks<T extends AnyTaskContract>(
  client: Client,
  task: T | string,
  items: readonly (readonly unknown[])[],
  size: number,
  options: { readonly queue?: string } = {},
): Promise<TaskHandle<T extends AnyTaskContract ? InferTaskOutput<T>[] : unknown[]>[]> {
  if (!Number.isInteger(size) || size < 1)
    throw new ConfigError(`chunks: size must be a positive integer, got ${size}`);
  const members: Signature[] = [];
  let output: AnySchema | undefined;
  for (let i = 0; i < items.length; i += size) {
    const part = await mapCall(true, task, items.slice(i, i + size));
    output = part.output;
    const queue = options.queue ?? part.queue;
    members.push({
      task: part.name,
      args: [],
      kwargs: { ...part.call.kwargs },
      options: queue ? { queue } : {},
      subtask_type: 'xstarmap',
      immutable: false,
    });
  }
  const handles = await client.group(members);
  return [...handles].map((h) => checkedHandle(h, output));
}
