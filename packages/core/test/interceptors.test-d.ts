import { describe, expectTypeOf, it } from 'vitest';
import { type Broker, CeleriacError, type RetryAfterError } from '../src/index.js';
import {
  type ClientInterceptor,
  type ClientOptions,
  createClient,
  type OutgoingMessage,
  type PublishNext,
} from '../src/producer/index.js';
import {
  createWorker,
  type ExecuteNext,
  type TaskContext,
  type WorkerInterceptor,
  type WorkerOptions,
} from '../src/worker/index.js';

declare const broker: Broker;

describe('interceptor signatures', () => {
  it('gives execute the parsed input, the handler context and a next that takes the input', () => {
    const interceptor: WorkerInterceptor = {
      execute(input, ctx, next) {
        expectTypeOf(input).toEqualTypeOf<unknown>();
        expectTypeOf(ctx).toEqualTypeOf<TaskContext>();
        expectTypeOf(next).toEqualTypeOf<ExecuteNext>();
        expectTypeOf(next).parameters.toEqualTypeOf<[input: unknown]>();
        return next(input);
      },
    };
    createWorker({ broker, tasks: [], interceptors: [interceptor] });
    expectTypeOf<WorkerOptions['interceptors']>().toEqualTypeOf<readonly WorkerInterceptor[] | undefined>();
  });

  it('gives publish the outgoing message and a next that resolves once it is published', () => {
    const interceptor: ClientInterceptor = {
      publish(message, next) {
        expectTypeOf(message).toEqualTypeOf<OutgoingMessage>();
        expectTypeOf(next).toEqualTypeOf<PublishNext>();
        expectTypeOf(next).returns.toEqualTypeOf<Promise<void>>();
        return next(message);
      },
    };
    createClient({ broker, interceptors: [interceptor] });
    expectTypeOf<ClientOptions['interceptors']>().toEqualTypeOf<readonly ClientInterceptor[] | undefined>();
  });

  it('lets one object serve as both a worker and a client interceptor', () => {
    const both = {
      execute: (input: unknown, _ctx: TaskContext, next: ExecuteNext) => next(input),
      publish: (message: OutgoingMessage, next: PublishNext) => next(message),
    };
    createWorker({ broker, tasks: [], interceptors: [both] });
    createClient({ broker, interceptors: [both] });
  });

  it('rejects hooks of the wrong shape', () => {
    // @ts-expect-error publish must return a promise
    const sync: ClientInterceptor = { publish: () => undefined };
    // @ts-expect-error next takes the input, not a context
    const wrong: WorkerInterceptor = { execute: (_i, ctx, next) => next(ctx, ctx) };
    void sync;
    void wrong;
  });
});

describe('CeleriacError.is with a code', () => {
  it('narrows to the class of that code, and accepts only known codes', () => {
    const error: unknown = new Error('x');
    if (CeleriacError.is(error, 'RETRY_AFTER')) {
      expectTypeOf(error).toEqualTypeOf<RetryAfterError>();
      expectTypeOf(error.delayMs).toEqualTypeOf<number>();
    }
    if (CeleriacError.is(error)) expectTypeOf(error).toEqualTypeOf<CeleriacError>();
    // @ts-expect-error not a Celeriac error code
    CeleriacError.is(error, 'NOPE');
  });
});
