import { MemoryResultBackend } from '@celeriac/core';
import { describeWorkflowStore } from '../src/index.js';

describeWorkflowStore('memory result backend', { create: () => new MemoryResultBackend() });
