import type { TaskDelivery } from '../../broker.js';
import { CeleriacError } from '../../errors.js';
import { callToInput } from '../../input-mapping.js';
import type { TaskMessage } from '../../message.js';
import { validate } from '../../schema.js';
import type { TaskImplementation } from '../implement.js';
import { rejectDelivery } from '../outcome-store.js';
import type { RunnerDeps } from '../runner-deps.js';

/**
 * The handler's input: the message's call mapped onto the contract's input and parsed by its
 * schema. A promise only for an async schema; throws `ValidationError` on bad input.
 */
export function parseInput(impl: TaskImplementation, message: TaskMessage): unknown {
  const { contract } = impl;
  return validate(
    contract.input,
    callToInput(contract, message.body[0], message.body[1]),
    message.headers.task,
    'input',
  );
}

/**
 * Input that fails its schema will never pass: dead-lettered (with a FAILURE stored) instead of
 * retried. Any other error is the caller's, as a rejection.
 */
export function rejectInvalidInput(d: TaskDelivery, deps: RunnerDeps, error: unknown): Promise<void> {
  // By code, not `instanceof`: a user's schema code may carry its own copy of the error classes.
  if (CeleriacError.is(error, 'VALIDATION_FAILED')) return rejectDelivery(deps, d, error.code, error);
  return Promise.reject(error);
}
