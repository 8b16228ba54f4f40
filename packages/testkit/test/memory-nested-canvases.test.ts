import { MemoryBroker, MemoryResultBackend } from '@celeriac/core';
import { describeNestedCanvases } from '../src/index.js';

describeNestedCanvases('memory', {
  create: async () => ({ broker: new MemoryBroker(), backend: new MemoryResultBackend() }),
});
