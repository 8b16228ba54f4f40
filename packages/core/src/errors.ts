/**
 * Every error Celeriac throws is a {@link CeleriacError}: it carries a literal `code` that is stable
 * across releases, a `retriable` decision, and the original `cause`. Messages start with
 * `[celeriac:<code>]` so they can be grepped in logs.
 *
 * @packageDocumentation
 */

const MARK = Symbol.for('celeriac.error');

/** Options accepted by every Celeriac error constructor. */
export interface CeleriacErrorOptions {
  /** The underlying error, kept for diagnostics. */
  readonly cause?: unknown;
}

/** Base class of every error raised by Celeriac. */
export abstract class CeleriacError extends Error {
  /** Stable, machine-readable error code. */
  abstract readonly code: string;
  /** Whether retrying the same operation may succeed. */
  abstract readonly retriable: boolean;
  /** @internal */
  readonly [MARK] = true;

  constructor(message: string, options: CeleriacErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }

  /**
   * `instanceof` that also works across duplicate installs of the package (a tasks module with its
   * own copy of core throws errors of its own classes). Given a `code`, also checks the code and
   * narrows to that error's class: check by code, never with `instanceof`, wherever an error may
   * come from user code.
   *
   * @example
   * ```ts
   * if (CeleriacError.is(error, 'RETRY_AFTER')) console.log(error.delayMs);
   * ```
   */
  static is(value: unknown): value is CeleriacError;
  static is<C extends CeleriacErrorCode>(value: unknown, code: C): value is CeleriacErrorOf<C>;
  static is(value: unknown, code?: string): boolean {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as { [MARK]?: unknown })[MARK] === true &&
      (code === undefined || (value as { code?: unknown }).code === code)
    );
  }
}

function msg(code: string, text: string): string {
  return `[celeriac:${code}] ${text}`;
}

/** One problem found by a schema, flattened for messages and wire transport. */
export interface ValidationIssue {
  readonly message: string;
  readonly path: readonly (string | number)[];
}

/** Input or output did not match the task contract's schema. */
export class ValidationError extends CeleriacError {
  readonly code = 'VALIDATION_FAILED' as const;
  readonly retriable = false as const;
  constructor(
    readonly taskName: string,
    readonly side: 'input' | 'output',
    readonly issues: readonly ValidationIssue[],
    options?: CeleriacErrorOptions,
  ) {
    const detail = issues
      .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
      .join('; ');
    super(msg('VALIDATION_FAILED', `invalid ${side} for task ${taskName}: ${detail}`), options);
  }
}

/** A broker message could not be decoded into a Celery v2 task message. */
export class DecodeError extends CeleriacError {
  readonly code = 'MESSAGE_UNDECODABLE' as const;
  readonly retriable = false as const;
  /**
   * The task id the message's headers name, when one could be read although the message could not
   * be decoded: the worker stores the FAILURE under it, so a caller waiting on it fails fast.
   */
  readonly taskId: string | undefined;
  constructor(reason: string, options?: CeleriacErrorOptions & { readonly taskId?: string | undefined }) {
    super(msg('MESSAGE_UNDECODABLE', reason), options);
    this.taskId = options?.taskId;
  }
}

/**
 * A value cannot be encoded as JSON for the wire or a result backend: a circular reference, a
 * throwing `toJSON`, a BigInt JSON cannot carry exactly, or a canvas signature that is not one.
 * Deterministic: the same value fails the same way every time, so it is never retried.
 */
export class EncodeError extends CeleriacError {
  readonly code = 'VALUE_UNENCODABLE' as const;
  readonly retriable = false as const;
  constructor(reason: string, options?: CeleriacErrorOptions) {
    super(msg('VALUE_UNENCODABLE', reason), options);
  }
}

/**
 * A task's outcome (its result, error or successor messages) cannot be stored: it cannot be encoded,
 * or it is larger than the worker's `limits.maxResultBytes`. The task fails with it at once, as its
 * FAILURE, instead of being run again.
 */
export class ResultNotStorableError extends CeleriacError {
  readonly code = 'RESULT_NOT_STORABLE' as const;
  readonly retriable = false as const;
  constructor(
    readonly taskName: string,
    readonly taskId: string,
    reason: string,
    options?: CeleriacErrorOptions,
  ) {
    super(
      msg('RESULT_NOT_STORABLE', `outcome of task ${taskName} (${taskId}) cannot be stored: ${reason}`),
      options,
    );
  }
}

/** Why a signed worker refused a message: see {@link SignatureError}. */
export type SignatureFailure = 'unsigned' | 'unknown-key' | 'bad-signature';

/**
 * A worker configured with signing keys refused a message: unsigned, signed with a key it does not
 * know, or altered after signing. The message is dead-lettered and nothing is stored under its id.
 */
export class SignatureError extends CeleriacError {
  readonly code = 'SIGNATURE_REJECTED' as const;
  readonly retriable = false as const;
  constructor(
    readonly reason: SignatureFailure,
    detail: string,
  ) {
    super(msg('SIGNATURE_REJECTED', `${reason}: ${detail}`));
  }
}

/** A worker received a task name it has no implementation for. */
export class TaskNotRegisteredError extends CeleriacError {
  readonly code = 'TASK_NOT_REGISTERED' as const;
  readonly retriable = false as const;
  constructor(readonly taskName: string) {
    super(msg('TASK_NOT_REGISTERED', `no implementation registered for task ${taskName}`));
  }
}

/** Thrown by a handler to fail the task at once, skipping any remaining retries. */
export class NonRetriableError extends CeleriacError {
  readonly code = 'NON_RETRIABLE' as const;
  readonly retriable = false as const;
  constructor(message: string, options?: CeleriacErrorOptions) {
    super(message, options);
  }
}

/** Thrown by a handler to ask for a retry after a given delay (e.g. on HTTP 429). */
export class RetryAfterError extends CeleriacError {
  readonly code = 'RETRY_AFTER' as const;
  readonly retriable = true as const;
  constructor(
    message: string,
    readonly delayMs: number,
    options?: CeleriacErrorOptions,
  ) {
    super(message, options);
  }
}

/** The task ran past its hard time limit and was abandoned. Same name as Celery's exception. */
export class TimeLimitExceeded extends CeleriacError {
  readonly code = 'TIME_LIMIT_EXCEEDED' as const;
  readonly retriable = true as const;
  constructor(readonly limitMs: number) {
    super(msg('TIME_LIMIT_EXCEEDED', `task exceeded its hard time limit of ${limitMs} ms`));
  }
}

/** Revoked or expired before it ran, or terminated while running. Same name as Celery's exception. */
export class TaskRevokedError extends CeleriacError {
  readonly code = 'TASK_REVOKED' as const;
  readonly retriable = false as const;
  constructor(readonly reason: 'revoked' | 'expired' | 'terminated') {
    super(msg('TASK_REVOKED', reason));
  }
}

/** The remote task finished in FAILURE (or REVOKED); `remote` holds what the worker recorded. */
export class RemoteTaskError extends CeleriacError {
  readonly code = 'REMOTE_TASK_FAILED' as const;
  readonly retriable = false as const;
  constructor(
    readonly taskId: string,
    readonly remote: {
      readonly excType: string;
      readonly excMessage: string;
      readonly excModule: string | null;
      readonly traceback: string | null;
      readonly state: string;
    },
  ) {
    super(
      msg('REMOTE_TASK_FAILED', `task ${taskId} ${remote.state}: ${remote.excType}: ${remote.excMessage}`),
    );
  }
}

/** Waiting for a result took longer than the caller allowed. */
export class ResultTimeoutError extends CeleriacError {
  readonly code = 'RESULT_TIMEOUT' as const;
  readonly retriable = true as const;
  constructor(
    readonly taskId: string,
    readonly timeoutMs: number,
  ) {
    super(msg('RESULT_TIMEOUT', `no result for task ${taskId} within ${timeoutMs} ms`));
  }
}

/** A broker or backend operation failed (connection, protocol, server error). */
export class BrokerError extends CeleriacError {
  readonly code = 'BROKER_ERROR' as const;
  constructor(
    readonly adapter: string,
    message: string,
    readonly retriable: boolean,
    options?: CeleriacErrorOptions,
  ) {
    super(msg('BROKER_ERROR', `${adapter}: ${message}`), options);
  }
}

/** An option, URL or configuration value is wrong; fix the configuration and restart. */
export class ConfigError extends CeleriacError {
  readonly code = 'CONFIG_INVALID' as const;
  readonly retriable = false as const;
  constructor(message: string, options?: CeleriacErrorOptions) {
    super(msg('CONFIG_INVALID', message), options);
  }
}

/** A capability was requested that the adapter declares absent (e.g. priority on Kafka). */
export class UnsupportedError extends CeleriacError {
  readonly code = 'UNSUPPORTED' as const;
  readonly retriable = false as const;
  constructor(
    readonly adapter: string,
    readonly feature: string,
  ) {
    super(msg('UNSUPPORTED', `${adapter} does not support ${feature}`));
  }
}

/** The broker or backend was used after `close()`. */
export class ClosedError extends CeleriacError {
  readonly code = 'CLOSED' as const;
  readonly retriable = false as const;
  constructor(what: string) {
    super(msg('CLOSED', `${what} is closed`));
  }
}

/** Every error class Celeriac throws. */
type AnyCeleriacError =
  | ValidationError
  | DecodeError
  | EncodeError
  | ResultNotStorableError
  | SignatureError
  | TaskNotRegisteredError
  | NonRetriableError
  | RetryAfterError
  | TimeLimitExceeded
  | TaskRevokedError
  | RemoteTaskError
  | ResultTimeoutError
  | BrokerError
  | ConfigError
  | UnsupportedError
  | ClosedError;

/** Every error code, for exhaustive switches. */
export type CeleriacErrorCode = AnyCeleriacError['code'];

/** The error class that carries `code`, e.g. `CeleriacErrorOf<'RETRY_AFTER'>` is {@link RetryAfterError}. */
export type CeleriacErrorOf<C extends CeleriacErrorCode> = Extract<AnyCeleriacError, { readonly code: C }>;
