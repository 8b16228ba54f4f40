import type {
  BackendCapabilities,
  Broker,
  BrokerCapabilities,
  MemoryBroker,
  MemoryResultBackend,
  ResultBackend,
} from '@celeriac/core';

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

const CHORD_JOIN = ['setChordSize', 'addChordPart', 'getChordParts', 'deleteChord'] as const;

/**
 * A view of a shared {@link MemoryResultBackend} that declares `capabilities` (less than the memory
 * backend can do) and hides what they leave out: the chord join methods when `chord` is false, and
 * the scheduler lock (`claim`) always. Everything else is the memory backend's own.
 */
export function narrowedBackend(
  inner: MemoryResultBackend,
  capabilities: BackendCapabilities,
): ResultBackend {
  const hidden = [...(capabilities.chord ? [] : CHORD_JOIN), 'claim'];
  const view = Object.create(inner) as ResultBackend;
  for (const name of hidden) Object.defineProperty(view, name, { value: undefined });
  Object.defineProperty(view, 'capabilities', { value: capabilities });
  // The shared backend stays open for the other "instances".
  Object.defineProperty(view, 'close', { value: async () => {} });
  return view;
}
