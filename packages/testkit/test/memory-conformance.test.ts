import { MemoryBroker, MemoryResultBackend } from '@celeriac/core';
import { memoryBackendCapabilities, memoryBrokerCapabilities } from '@celeriac/core/adapter';
import { describeBroker, describeResultBackend } from '../src/index.js';
import { brokerView } from './memory-adapters.js';

const shared = new MemoryBroker();
describeBroker('memory', {
  create: brokerView(shared),
  capabilities: memoryBrokerCapabilities,
  injectRaw: async (queue, raw) => shared.injectRaw(queue, raw),
});

const sharedBackend = new MemoryResultBackend();
describeResultBackend('memory', {
  create: () => Object.assign(Object.create(sharedBackend) as MemoryResultBackend, { close: async () => {} }),
  capabilities: memoryBackendCapabilities,
  lock: (backend) => backend,
});
