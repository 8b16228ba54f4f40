import { MemoryBroker, MemoryResultBackend } from '@celeriac/core';
import { memoryBackendCapabilities, memoryBrokerCapabilities } from '@celeriac/core/adapter';
import { describeBroker, describeResultBackend } from '../src/index.js';

// One broker shared by the suite's "instances": in-memory state lives in one object, as several
// processes would share one Redis. Crash = closing the consumer side without settling.
const shared = new MemoryBroker();
const view = () => ({
  name: shared.name,
  capabilities: shared.capabilities,
  publish: shared.publish.bind(shared),
  publishMany: shared.publishMany.bind(shared),
  consume: async (o: Parameters<MemoryBroker['consume']>[0]) => {
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
const consumers: Awaited<ReturnType<MemoryBroker['consume']>>[] = [];

describeBroker('memory', {
  create: view,
  capabilities: memoryBrokerCapabilities,
  injectRaw: async (queue, raw) => shared.injectRaw(queue, raw),
});

const sharedBackend = new MemoryResultBackend();
describeResultBackend('memory', {
  create: () => Object.assign(Object.create(sharedBackend) as MemoryResultBackend, { close: async () => {} }),
  capabilities: memoryBackendCapabilities,
});
