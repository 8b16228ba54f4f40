import type { TaskContract } from '../contract.js';
import { derivedId } from '../derived-id.js';
import { TaskNotRegisteredError } from '../errors.js';
import { callToInput } from '../input-mapping.js';
import type { Signature } from '../message.js';
import { publishGroup } from '../producer/canvas-publish.js';
import { type AnySchema, type StandardSchemaV1, validate } from '../schema.js';
import type { TaskContext, TaskImplementation } from './implement.js';
import type { RunnerDeps } from './runner-deps.js';
import { workflowDriverTasks } from './workflow-driver.js';

interface MapInput {
  readonly task: Signature;
  readonly it: readonly unknown[];
}
interface ChunksInput extends MapInput {
  readonly n: number;
}

/** A Standard Schema from a check that names what is wrong, or returns null. */
function checked<T>(check: (value: Record<string, unknown>) => string | null): AnySchema {
  const schema: StandardSchemaV1<T, T> = {
    '~standard': {
      version: 1,
      vendor: 'celeriac',
      validate(value) {
        const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
        const problem = check(v);
        return problem === null ? { value: v as T } : { issues: [{ message: problem }] };
      },
    },
  };
  return schema as AnySchema;
}

function mapProblem(v: Record<string, unknown>): string | null {
  const task = v.task as Partial<Signature> | undefined;
  if (typeof task !== 'object' || task === null || typeof task.task !== 'string')
    return 'task must be a signature (an object with a task name)';
  return Array.isArray(v.it) ? null : 'it must be a list';
}

const anything: AnySchema = checked(() => null);

function contract(name: string, argNames: string[], input: AnySchema): TaskContract {
  return Object.freeze({ name, input, output: anything, defaults: Object.freeze({}), argNames });
}

const MAP = contract('celery.map', ['task', 'it'], checked<MapInput>(mapProblem));
const STARMAP = contract('celery.starmap', ['task', 'it'], checked<MapInput>(mapProblem));
const CHUNKS = contract(
  'celery.chunks',
  ['task', 'it', 'n'],
  checked<ChunksInput>((v) =>
    Number.isInteger(v.n) && (v.n as number) > 0 ? mapProblem(v) : 'n must be a positive integer',
  ),
);

/**
 * Runs a registered task's handler in this task's place, once per item, as Celery's `celery.map`
 * and `celery.starmap` do (`[task(item) for item in it]`, `[task(*item) …]`): the signature's own
 * args are not used, each item is validated and each value checked like a task's, and the list of
 * values is the result. A task not registered here fails the whole call, as in Celery.
 */
async function runEach(
  deps: RunnerDeps,
  input: MapInput,
  ctx: TaskContext,
  spread: boolean,
): Promise<unknown[]> {
  const impl = deps.registry.get(input.task.task);
  if (!impl) throw new TaskNotRegisteredError(input.task.task);
  const { contract: target } = impl;
  const out: unknown[] = [];
  for (const item of input.it) {
    // Between items, not inside a handler: a time limit or a shutdown stops the rest.
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const args = spread ? (Array.isArray(item) ? item : [item]) : [item];
    const parsed = await validate(target.input, callToInput(target, args, {}), target.name, 'input');
    const value = await impl.handler(parsed as never, ctx);
    await validate(target.output, value, target.name, 'output');
    out.push(value);
  }
  return out;
}

/**
 * Celery's `celery.chunks`: splits `it` into parts of `n` and publishes a group of
 * `celery.starmap` tasks, one per part, routed where the signature says (else this task's queue).
 * Member ids derive from this task's id, so a redelivery publishes the same ones. The result is
 * the group's result tuple, as Celery's `GroupResult.as_tuple()`.
 */
async function publishChunks(deps: RunnerDeps, input: ChunksInput, ctx: TaskContext): Promise<unknown> {
  const groupId = derivedId(`${ctx.id}:chunks`);
  const queue = typeof input.task.options?.queue === 'string' ? input.task.options.queue : ctx.queue;
  const task = { ...input.task, args: [], kwargs: {} };
  const members: Signature[] = [];
  for (let i = 0; i * input.n < input.it.length; i++) {
    members.push({
      task: 'celery.starmap',
      args: [],
      kwargs: { task, it: input.it.slice(i * input.n, (i + 1) * input.n) },
      options: { task_id: derivedId(`${ctx.id}:chunk:${i}`), queue },
      subtask_type: 'xstarmap',
      immutable: false,
    });
  }
  const ids = await publishGroup(deps.publisher, members, groupId);
  return [[groupId, null], ids.map((id) => [[id, null], null])];
}

const cache = new WeakMap<RunnerDeps, Map<string, TaskImplementation>>();

/**
 * The built-in task of this name bound to a worker, for a message no registered task claims:
 * Celery's `celery.map`, `celery.starmap` and `celery.chunks`, and the workflow driver
 * (`celeriac.workflow.advance`, `celeriac.workflow.failed`); `undefined` for any other name. Not
 * listed among a worker's registered tasks, as in Celery.
 */
export function builtinTask(name: string, deps: RunnerDeps): TaskImplementation | undefined {
  if (!name.startsWith('celery.') && !name.startsWith('celeriac.')) return undefined;
  let bound = cache.get(deps);
  if (!bound) {
    bound = new Map<string, TaskImplementation>([
      [MAP.name, { contract: MAP, handler: (input, ctx) => runEach(deps, input as MapInput, ctx, false) }],
      [
        STARMAP.name,
        { contract: STARMAP, handler: (input, ctx) => runEach(deps, input as MapInput, ctx, true) },
      ],
      [
        CHUNKS.name,
        { contract: CHUNKS, handler: (input, ctx) => publishChunks(deps, input as ChunksInput, ctx) },
      ],
      ...workflowDriverTasks(deps),
    ]);
    cache.set(deps, bound);
  }
  return bound.get(name);
}
