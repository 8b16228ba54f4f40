import { MemoryResultBackend } from '@celeriac/core';
import { describeScheduleStore } from '../src/index.js';

// One backend for the whole file: schedulers "on the same store" share its memory.
const backend = new MemoryResultBackend();
describeScheduleStore('memory result backend', { create: () => backend });
