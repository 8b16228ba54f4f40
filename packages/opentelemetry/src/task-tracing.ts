import type { TaskContext, WorkerInterceptor } from '@celeriac/core/worker';
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { headerGetter } from './carrier.js';
import { ATTRIBUTES, type TracingOptions, tracerOf } from './options.js';
import { publishTraced } from './publish-tracing.js';

/** Run spans remembered by task id, so what a task's outcome publishes (chain steps, callbacks) continues its trace. */
const REMEMBERED_TASKS = 10_000;

function fail(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
  span.end();
}

/**
 * A worker interceptor that traces every task run: a `run/<task>` CONSUMER span that continues the
 * trace in the message's `traceparent` (from a Celeriac client, or Python Celery with its
 * OpenTelemetry instrumentation), active while the handler runs, so the handler's own spans are
 * its children. What the worker publishes for a task — retries, callbacks, the next chain step —
 * gets an `apply_async` span under that task's run span.
 *
 * @example
 * ```ts
 * const worker = createWorker({ broker, backend, tasks, interceptors: [traceTasks()] });
 * ```
 */
export function traceTasks(options: TracingOptions = {}): WorkerInterceptor {
  const tracer = tracerOf(options);
  // Insertion order is age: the oldest run span is forgotten first.
  const runs = new Map<string, Context>();
  const remember = (id: string, ctx: Context) => {
    runs.delete(id);
    runs.set(id, ctx);
    if (runs.size > REMEMBERED_TASKS) {
      const oldest = runs.keys().next().value;
      if (oldest !== undefined) runs.delete(oldest);
    }
  };

  return {
    execute(input: unknown, ctx: TaskContext, next: (input: unknown) => unknown): unknown {
      const parent = propagation.extract(ROOT_CONTEXT, ctx.headers, headerGetter);
      const span = tracer.startSpan(
        `run/${ctx.name}`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            [ATTRIBUTES.action]: 'run',
            [ATTRIBUTES.taskName]: ctx.name,
            [ATTRIBUTES.messageId]: ctx.id,
            [ATTRIBUTES.destination]: ctx.queue,
            [ATTRIBUTES.retries]: ctx.attempt - 1,
            [ATTRIBUTES.deliveryCount]: ctx.deliveryCount,
          },
        },
        parent,
      );
      const inSpan = trace.setSpan(parent, span);
      remember(ctx.id, inSpan);
      let result: unknown;
      try {
        result = context.with(inSpan, () => next(input));
      } catch (error) {
        fail(span, error);
        throw error;
      }
      if (!(result instanceof Promise)) {
        span.setAttribute(ATTRIBUTES.state, 'SUCCESS');
        span.end();
        return result;
      }
      return result.then(
        (value: unknown) => {
          span.setAttribute(ATTRIBUTES.state, 'SUCCESS');
          span.end();
          return value;
        },
        (error: unknown) => {
          fail(span, error);
          throw error;
        },
      );
    },

    publish(out, next) {
      // A successor names the task it comes from as its parent: continue that task's trace.
      const from = out.message.headers.parent_id;
      const parent = (from && runs.get(from)) || context.active();
      return publishTraced(tracer, out, next, parent);
    },
  };
}
