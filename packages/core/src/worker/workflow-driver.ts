import type { TaskContract } from '../contract.js';
import { ConfigError } from '../errors.js';
import { decodeJson, encodeJson } from '../json-codec.js';
import { type ExceptionInfo, TaskState } from '../result-backend.js';
import { buildMeta } from '../result-meta.js';
import type { AnySchema, StandardSchemaV1 } from '../schema.js';
import {
  ADVANCE_TASK,
  FAILED_TASK,
  nodeMessage,
  WORKFLOW_TASK,
  type WorkflowDefinitionRecord,
} from '../workflow/definition.js';
import { resolveTemplate } from '../workflow/template.js';
import { hasWorkflowStore, type WorkflowStore, type WorkflowTransition } from '../workflow/workflow-store.js';
import type { TaskImplementation } from './implement.js';
import type { RunnerDeps } from './runner-deps.js';

interface DriverInput {
  /** The node's result (advance) or the failed node's task id (failed). */
  readonly value: unknown;
  readonly workflow: string;
  readonly node: string;
}

const driverInput: AnySchema = ((): AnySchema => {
  const schema: StandardSchemaV1<DriverInput, DriverInput> = {
    '~standard': {
      version: 1,
      vendor: 'celeriac',
      validate(v) {
        const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
        return typeof o.workflow === 'string' && typeof o.node === 'string'
          ? { value: o as unknown as DriverInput }
          : { issues: [{ message: 'expected (value, workflow id, node name)' }] };
      },
    },
  };
  return schema as AnySchema;
})();

const anything: AnySchema = {
  '~standard': { version: 1, vendor: 'celeriac', validate: (value: unknown) => ({ value }) },
} as AnySchema;

// The driver retries a transient failure (the backend away) rather than leaving the workflow stuck.
const retry = Object.freeze({ max: 10, initialDelayMs: 500, maxDelayMs: 30_000 });

function contract(name: string): TaskContract {
  return Object.freeze({
    name,
    input: driverInput,
    output: anything,
    defaults: Object.freeze({ retry }),
    argNames: ['value', 'workflow', 'node'],
  });
}

function storeOf(deps: RunnerDeps): WorkflowStore & NonNullable<RunnerDeps['backend']> {
  const backend = deps.backend;
  if (!hasWorkflowStore(backend))
    throw new ConfigError(
      `workflows need a result backend that keeps them; ${backend?.name ?? 'none'} does not`,
    );
  return backend;
}

const SKIPPED = (upstream: string, why: string): ExceptionInfo => ({
  exc_type: 'TaskRevokedError',
  exc_message: [`skipped: upstream node ${upstream} did not succeed${why}`],
  exc_module: 'celery.exceptions',
});
const FAILED = (upstream: string, why: string): ExceptionInfo => ({
  exc_type: 'UpstreamFailed',
  exc_message: [`upstream node ${upstream} did not succeed${why}`],
  exc_module: 'celeriac',
});

/** ` (TaskRevokedError: terminated)`: what the node that did not succeed ended with, if known. */
function causeOf(result: string | null | undefined): string {
  let error: Partial<ExceptionInfo> | null = null;
  try {
    error = result ? (decodeJson(result) as Partial<ExceptionInfo> | null) : null;
  } catch {
    return '';
  }
  if (typeof error?.exc_type !== 'string') return '';
  const message = Array.isArray(error.exc_message) ? error.exc_message.map(String).join(', ') : '';
  return ` (${error.exc_type}${message ? `: ${message}` : ''})`;
}

/**
 * Applies what a transition asks for, all idempotent so a redelivered driver message can do it
 * again: publishes the nodes made runnable (fixed ids), stores the final state of the nodes that
 * will never run (so their handles settle), and, once every node is final, the workflow's result.
 */
async function follow(deps: RunnerDeps, id: string, node: string, t: WorkflowTransition): Promise<void> {
  if (t.ready.length === 0 && t.settled.length === 0 && !t.finished) return;
  const store = storeOf(deps);
  const snapshot = await store.getWorkflow(id);
  if (!snapshot) throw new ConfigError(`workflow ${id} is unknown (expired?)`);
  const record = JSON.parse(snapshot.definition) as WorkflowDefinitionRecord;
  const results: Record<string, unknown> = {};
  for (const [name, n] of Object.entries(snapshot.nodes))
    if (n.state === 'SUCCESS' && n.result !== null) results[name] = decodeJson(n.result);
  const parent = record.nodes[node]?.taskId ?? id;
  if (t.ready.length > 0)
    await deps.publisher.publishMany(
      t.ready.map((r) => nodeMessage(record, r, resolveTemplate(record.nodes[r]?.input, results), parent)),
    );
  // The nodes settled here name the node that did not succeed, and how it ended (failed, revoked, expired).
  const why = snapshot.nodes[node]?.state === 'FAILURE' ? causeOf(snapshot.nodes[node]?.result) : '';
  for (const s of t.settled) {
    const taskId = record.nodes[s.node]?.taskId;
    if (!taskId) continue;
    const state = s.state === 'SKIPPED' ? TaskState.REVOKED : TaskState.FAILURE;
    const info = s.state === 'SKIPPED' ? SKIPPED(node, why) : FAILED(node, why);
    await store.store(buildMeta(state, taskId, info));
  }
  if (!t.finished) return;
  const failed = Object.entries(snapshot.nodes).filter(([, n]) => n.state !== 'SUCCESS');
  const meta = failed.length
    ? buildMeta(TaskState.FAILURE, id, {
        exc_type: 'WorkflowFailed',
        exc_message: [
          `nodes not succeeded: ${failed.map(([name, n]) => `${name} (${n.state})`).join(', ')}`,
          Object.fromEntries(Object.entries(snapshot.nodes).map(([name, n]) => [name, n.state])),
        ],
        exc_module: 'celeriac',
      })
    : buildMeta(TaskState.SUCCESS, id, results);
  await store.store({ ...meta, name: WORKFLOW_TASK });
}

async function complete(
  deps: RunnerDeps,
  input: DriverInput,
  state: 'SUCCESS' | 'FAILURE',
  result: unknown,
): Promise<unknown> {
  const t = await storeOf(deps).completeWorkflowNode(
    input.workflow,
    input.node,
    state,
    encodeJson(result) ?? 'null',
  );
  if (!t) throw new ConfigError(`workflow ${input.workflow} is unknown (expired?)`);
  await follow(deps, input.workflow, input.node, t);
  return { workflow: input.workflow, node: input.node, recorded: t.recorded, ready: t.ready };
}

/** How long the failed-node driver waits for the failure to be stored (a TS worker calls errbacks first). */
const FAILURE_WAIT_MS = 30_000;

/** The workflow driver tasks, bound to a worker (see `builtinTask`). */
export function workflowDriverTasks(deps: RunnerDeps): [string, TaskImplementation][] {
  const advance = contract(ADVANCE_TASK);
  const failed = contract(FAILED_TASK);
  return [
    [
      ADVANCE_TASK,
      {
        contract: advance,
        handler: (input) => complete(deps, input as DriverInput, 'SUCCESS', (input as DriverInput).value),
      },
    ],
    [
      FAILED_TASK,
      {
        contract: failed,
        async handler(raw) {
          const input = raw as DriverInput;
          // Celery's errback gets the failed task's id: its error is read from the backend.
          const meta = await storeOf(deps)
            .wait(String(input.value), { timeoutMs: FAILURE_WAIT_MS })
            .catch(() => null);
          const error: unknown = meta?.result ?? {
            exc_type: 'UnknownFailure',
            exc_message: [`task ${String(input.value)} failed`],
            exc_module: 'celeriac',
          };
          return complete(deps, input, 'FAILURE', error);
        },
      },
    ],
  ];
}
