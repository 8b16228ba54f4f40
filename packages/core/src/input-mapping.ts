import type { AnyTaskContract } from './contract.js';
import { ValidationError } from './errors.js';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Date) &&
    !(v instanceof Uint8Array)
  );
}

/**
 * Maps a task input onto Celery's `(args, kwargs)`: an object input travels as kwargs, anything
 * else as the single positional argument.
 */
export function inputToCall(
  contract: Pick<AnyTaskContract, 'argNames'> | undefined,
  input: unknown,
): { args: unknown[]; kwargs: Record<string, unknown> } {
  if (isPlainObject(input) && (contract === undefined || contract.argNames !== undefined)) {
    return { args: [], kwargs: input };
  }
  return { args: input === undefined ? [] : [input], kwargs: {} };
}

/** Python's own wording for a call with too many positional arguments. */
function tooMany(contract: Pick<AnyTaskContract, 'name'>, takes: number, given: number): ValidationError {
  return new ValidationError(contract.name, 'input', [
    { message: `takes ${takes} positional argument(s) but ${given} were given`, path: [takes] },
  ]);
}

/**
 * Maps Celery's `(args, kwargs)` back onto a task input, so a Python caller may use positional or
 * keyword arguments: positional args fill the object's keys in schema order. More positional args
 * than the input has keys throw {@link ValidationError} (they are never dropped silently).
 *
 * The object is built with a null prototype and own keys only: a `__proto__` key in kwargs stays a
 * key, never the input's prototype, so no schema can read fields through it.
 */
export function callToInput(
  contract: Pick<AnyTaskContract, 'argNames' | 'name'>,
  args: readonly unknown[],
  kwargs: Readonly<Record<string, unknown>>,
): unknown {
  const names = contract.argNames;
  if (names === undefined) {
    if (args.length > 1) throw tooMany(contract, 1, args.length);
    return args.length > 0 ? args[0] : Object.keys(kwargs).length ? kwargs : undefined;
  }
  if (args.length > names.length) throw tooMany(contract, names.length, args.length);
  const input: Record<string, unknown> = Object.create(null);
  for (let i = 0; i < args.length; i++) input[names[i] as string] = args[i];
  for (const key of Object.keys(kwargs)) input[key] = kwargs[key];
  return input;
}
