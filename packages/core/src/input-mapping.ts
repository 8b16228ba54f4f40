import type { AnyTaskContract } from './contract.js';

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

/**
 * Maps Celery's `(args, kwargs)` back onto a task input, so a Python caller may use positional or
 * keyword arguments: positional args fill the object's keys in schema order.
 */
export function callToInput(
  contract: Pick<AnyTaskContract, 'argNames'>,
  args: readonly unknown[],
  kwargs: Readonly<Record<string, unknown>>,
): unknown {
  const names = contract.argNames;
  if (names === undefined) return args.length > 0 ? args[0] : Object.keys(kwargs).length ? kwargs : undefined;
  const input: Record<string, unknown> = {};
  args.forEach((value, i) => {
    const key = names[i];
    // Extra positional args beyond the schema's keys are kept under their index, so validation reports them.
    input[key ?? String(i)] = value;
  });
  return Object.assign(input, kwargs);
}
