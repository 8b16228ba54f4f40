import type {
  BackendCapabilities,
  Broker,
  BrokerCapabilities,
  MemoryBroker,
  MemoryResultBackend,
  ResultBackend,
  ResultMeta,
} from '@celeriac/core';
import type { StoreOptions, WaitOptions } from '@celeriac/core/adapter';

/**
 * A broker "instance" over one shared {@link MemoryBroker}: in-memory state lives in one object, as
 * several processes would share one Redis. Closing it closes the consumers it opened without
 * settling what they hold (a crash, as far as the queue can tell). `capabilities` may declare less
 * than the memory broker has.
 */
export function brokerView(shared: MemoryBroker, capabilities: BrokerCapabilities = shared.capabilities) {
  const consumers: Awaited<ReturnType<MemoryBroker['consume']>>[] = [];
  return (): Broker => ({
    name: shared.name,
    capabilities,
    publish: shared.publish.bind(shared),
    publishMany: shared.publishMany.bind(shared),
    consume: async (o) => {
      const c = await shared.consume(o);
      consumers.push(c);
      return c;
    },
    depth: shared.depth.bind(shared),
    purge: shared.purge.bind(shared),
    readDeadLetters: shared.readDeadLetters.bind(shared),
    redriveDeadLetters: shared.redriveDeadLetters.bind(shared),
    close: async () => {
      await Promise.all(consumers.splice(0).map((c) => c.close()));
    },
  });
}

/**
 * An in-memory result backend that declares no chord join and has none of its methods: only what
 * every `ResultBackend` must have, over a shared {@link MemoryResultBackend}.
 */
export class ResultsOnlyBackend implements ResultBackend {
  readonly name = 'memory-results-only';

  constructor(
    private readonly inner: MemoryResultBackend,
    readonly capabilities: BackendCapabilities,
  ) {}

  store(meta: ResultMeta, options?: StoreOptions): Promise<void> {
    return this.inner.store(meta, options);
  }
  get(taskId: string): Promise<ResultMeta | null> {
    return this.inner.get(taskId);
  }
  getMany(taskIds: readonly string[]): Promise<(ResultMeta | null)[]> {
    return this.inner.getMany(taskIds);
  }
  wait(taskId: string, options?: WaitOptions): Promise<ResultMeta> {
    return this.inner.wait(taskId, options);
  }
  forget(taskId: string): Promise<void> {
    return this.inner.forget(taskId);
  }
  /** The shared backend stays open for the other "instances". */
  async close(): Promise<void> {}
}
