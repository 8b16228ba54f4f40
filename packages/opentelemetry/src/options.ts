import { type Tracer, type TracerProvider, trace } from '@opentelemetry/api';

/** Options of the tracing interceptors. */
export interface TracingOptions {
  /** Where spans go. @default the global tracer provider (what the application's SDK registered) */
  readonly tracerProvider?: TracerProvider;
}

/** The instrumentation's name and version, as spans report them. */
export const INSTRUMENTATION = '@celeriac/opentelemetry';

/** The tracer of these options. */
export function tracerOf(options: TracingOptions): Tracer {
  return (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION);
}

/**
 * Span attribute names, as Python Celery's OpenTelemetry instrumentation sets them, so traces of
 * TypeScript and Python tasks read alike.
 */
export const ATTRIBUTES = {
  action: 'celery.action',
  taskName: 'celery.task_name',
  state: 'celery.state',
  retries: 'celery.retries',
  eta: 'celery.eta',
  priority: 'celery.priority',
  messageId: 'messaging.message_id',
  destination: 'messaging.destination',
  deliveryCount: 'celeriac.delivery_count',
} as const;
