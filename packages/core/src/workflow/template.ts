import { ConfigError } from '../errors.js';

/**
 * How a reference to an upstream result is written in a stored input template:
 * `{ "__celeriac_ref__": [node, ...path] }`.
 */
export const REF_KEY = '__celeriac_ref__';

const REF = Symbol('celeriac.workflow.ref');

interface Ref {
  readonly node: string;
  readonly path: readonly (string | number)[];
}

function placeholder(owner: string, ref: Ref): unknown {
  const where = [ref.node, ...ref.path].join('.');
  const misuse = (what: string) =>
    new ConfigError(
      `workflow node ${owner}: its input ${what} ${where}, which is a placeholder for an upstream result ` +
        '(inputs are computed once, when the workflow is defined): place it in the input as it is, and compute in a task',
    );
  // A plain object as target: `typeof` says object, calling it throws, and nothing leaks from it.
  return new Proxy(Object.create(null) as object, {
    get(_, key) {
      if (key === REF) return ref;
      // Not a promise, so an accidental `await` or `return` of it does not hang.
      if (key === 'then') return undefined;
      if (typeof key === 'symbol' || key === 'toJSON' || key === 'valueOf' || key === 'toString')
        throw misuse('converts or compares');
      return placeholder(owner, {
        node: ref.node,
        path: [...ref.path, /^\d+$/.test(key) ? Number(key) : key],
      });
    },
    has: (_, key) => key === REF,
    set() {
      throw misuse('writes to');
    },
    ownKeys() {
      throw misuse('lists the keys of');
    },
  });
}

function refOf(value: unknown): Ref | undefined {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  return REF in value ? (value as { [REF]: Ref })[REF] : undefined;
}

function toTemplate(value: unknown): unknown {
  const ref = refOf(value);
  if (ref) return { [REF_KEY]: [ref.node, ...ref.path] };
  if (Array.isArray(value)) return value.map(toTemplate);
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toTemplate(v)]));
  return value;
}

/**
 * Runs a node's input mapping once, at definition time, on placeholders of its dependencies'
 * results, and returns the input with references where the placeholders landed. Reading a node
 * not in `after`, or computing with a placeholder, is a `ConfigError`.
 */
export function captureInput(
  owner: string,
  mapping: (deps: Record<string, unknown>) => unknown,
  after: readonly string[],
): unknown {
  const known = new Set(after);
  const deps = new Proxy({} as Record<string, unknown>, {
    get(_, key) {
      if (typeof key === 'string' && known.has(key)) return placeholder(owner, { node: key, path: [] });
      if (key === 'then' || typeof key === 'symbol') return undefined;
      throw new ConfigError(
        `workflow node ${owner}: its input reads ${String(key)}, which is not in its after list`,
      );
    },
    has: (_, key) => typeof key === 'string' && known.has(key),
    ownKeys: () => [...known],
    getOwnPropertyDescriptor: (_, key) =>
      typeof key === 'string' && known.has(key)
        ? { enumerable: true, configurable: true, value: placeholder(owner, { node: key, path: [] }) }
        : undefined,
  });
  let input: unknown;
  try {
    input = mapping(deps);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(
      `workflow node ${owner}: its input mapping failed on placeholders; it may only place upstream results, not compute with them`,
      { cause: error },
    );
  }
  return toTemplate(input);
}

/** The nodes a template refers to. */
export function refsOf(template: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(template)) for (const v of template) refsOf(v, into);
  else if (typeof template === 'object' && template !== null) {
    const ref = (template as Record<string, unknown>)[REF_KEY];
    if (Array.isArray(ref) && typeof ref[0] === 'string') into.add(ref[0]);
    else for (const v of Object.values(template)) refsOf(v, into);
  }
  return into;
}

/** The input with every reference replaced by the upstream result it names. */
export function resolveTemplate(template: unknown, results: Readonly<Record<string, unknown>>): unknown {
  if (Array.isArray(template)) return template.map((v) => resolveTemplate(v, results));
  if (typeof template !== 'object' || template === null) return template;
  const ref = (template as Record<string, unknown>)[REF_KEY];
  if (Array.isArray(ref) && typeof ref[0] === 'string') {
    let value: unknown = results[ref[0]];
    for (const key of ref.slice(1) as (string | number)[])
      value =
        typeof value === 'object' && value !== null
          ? (value as Record<string | number, unknown>)[key]
          : undefined;
    return value;
  }
  if (Object.getPrototypeOf(template) !== Object.prototype) return template;
  return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, resolveTemplate(v, results)]));
}
