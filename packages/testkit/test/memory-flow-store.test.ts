import { MemoryResultBackend } from '@celeriac/core';
import { describeFlowStore } from '../src/index.js';

// One backend per index size: stores "on the same place" share its memory.
const backends = new Map<number, MemoryResultBackend>();
describeFlowStore('memory result backend', {
  create: ({ taskIndexSize }) => {
    let b = backends.get(taskIndexSize);
    if (!b) {
      b = new MemoryResultBackend({ taskIndex: taskIndexSize > 0 ? { max: taskIndexSize } : false });
      backends.set(taskIndexSize, b);
    }
    return b;
  },
});
