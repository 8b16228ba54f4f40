import type { ClientInterceptor, OutgoingMessage, PublishNext } from '@celeriac/core/producer';
import {
  type Attributes,
  type Context,
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { headerSetter } from './carrier.js';
import { ATTRIBUTES, type TracingOptions, tracerOf } from './options.js';

function publishAttributes(out: OutgoingMessage): Attributes {
  const { headers, properties } = out.message;
  const attributes: Attributes = {
    [ATTRIBUTES.action]: 'apply_async',
    [ATTRIBUTES.taskName]: headers.task,
    [ATTRIBUTES.messageId]: headers.id,
    [ATTRIBUTES.destination]: out.queue,
    [ATTRIBUTES.retries]: headers.retries,
  };
  if (headers.eta) attributes[ATTRIBUTES.eta] = headers.eta;
  if (properties.priority !== null) attributes[ATTRIBUTES.priority] = properties.priority;
  return attributes;
}

/**
 * Publishes one message under an `apply_async/<task>` PRODUCER span whose context travels in the
 * message headers (`traceparent`, `tracestate`). `parent` is the context the span starts in.
 */
export function publishTraced(
  tracer: Tracer,
  out: OutgoingMessage,
  next: PublishNext,
  parent: Context = context.active(),
): Promise<void> {
  const span = tracer.startSpan(
    `apply_async/${out.message.headers.task}`,
    { kind: SpanKind.PRODUCER, attributes: publishAttributes(out) },
    parent,
  );
  const inSpan = trace.setSpan(parent, span);
  propagation.inject(inSpan, out.message.headers, headerSetter);
  return context
    .with(inSpan, () => next(out))
    .then(
      () => span.end(),
      (error: unknown) => {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : String(error),
        });
        span.end();
        throw error;
      },
    );
}

/**
 * A client interceptor that traces every publish (`enqueue`, `send`, canvas calls): a PRODUCER
 * span per message, child of the active span, with W3C `traceparent` in the message headers so
 * the worker's span (TypeScript or Python Celery with its OpenTelemetry instrumentation) continues
 * the trace.
 *
 * @example
 * ```ts
 * const client = createClient({ broker, backend, interceptors: [tracePublishes()] });
 * ```
 */
export function tracePublishes(options: TracingOptions = {}): ClientInterceptor {
  const tracer = tracerOf(options);
  return { publish: (out, next) => publishTraced(tracer, out, next) };
}
