import type { StandardSchemaV1 } from '@standard-schema/spec';
import { ValidationError } from './errors.js';

export type { StandardSchemaV1 } from '@standard-schema/spec';

/** Any Standard Schema (zod 4, valibot, arktype, …). */
export type AnySchema = StandardSchemaV1<unknown, unknown>;

/** The type a schema accepts (what a producer passes in). */
export type SchemaInput<TSchema extends AnySchema> = StandardSchemaV1.InferInput<TSchema>;

/** The type a schema produces after parsing (what a handler receives). */
export type SchemaOutput<TSchema extends AnySchema> = StandardSchemaV1.InferOutput<TSchema>;

/**
 * Validates `value` against a Standard Schema and returns the parsed value, or throws
 * {@link ValidationError}. Sync schemas stay on the fast path without an extra microtask.
 */
export function validate<TSchema extends AnySchema>(
  schema: TSchema,
  value: unknown,
  taskName: string,
  side: 'input' | 'output',
): SchemaOutput<TSchema> | Promise<SchemaOutput<TSchema>> {
  const result = schema['~standard'].validate(value);
  if (result instanceof Promise) {
    return result.then((r) => unwrap(r, taskName, side) as SchemaOutput<TSchema>);
  }
  return unwrap(result, taskName, side) as SchemaOutput<TSchema>;
}

function unwrap(
  result: StandardSchemaV1.Result<unknown>,
  taskName: string,
  side: 'input' | 'output',
): unknown {
  if (result.issues) {
    throw new ValidationError(
      taskName,
      side,
      result.issues.map((issue) => ({
        message: issue.message,
        path: (issue.path ?? []).map((p) =>
          typeof p === 'object' ? (p.key as string | number) : (p as string | number),
        ),
      })),
    );
  }
  return result.value;
}

/**
 * Returns the object keys of a schema in declaration order, when the schema exposes them
 * (zod's `shape`, valibot's `entries`). Used to map a positional Celery call (`args`) onto
 * an object input; `undefined` when the schema does not describe an object.
 */
export function objectKeysOf(schema: AnySchema): string[] | undefined {
  const s = schema as unknown as { shape?: unknown; entries?: unknown; def?: { shape?: unknown } };
  const shape = s.shape ?? s.entries ?? s.def?.shape;
  if (shape && typeof shape === 'object') return Object.keys(shape);
  return undefined;
}
