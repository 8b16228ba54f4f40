import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';

/** Celery message headers as a propagation carrier: `traceparent`, `tracestate` sit at the top level. */
export type HeaderCarrier = Record<string, unknown>;

/** Reads propagation fields from message headers (string values only). */
export const headerGetter: TextMapGetter<Readonly<HeaderCarrier>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    return typeof value === 'string' ? value : undefined;
  },
};

/**
 * Writes propagation fields into message headers, where Python Celery's OpenTelemetry
 * instrumentation writes and reads them too.
 */
export const headerSetter: TextMapSetter<HeaderCarrier> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};
