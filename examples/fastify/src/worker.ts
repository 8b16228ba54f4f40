import { createWorker } from '@celeriac/core/worker';
import { connections } from './connections.js';
import { tasks } from './tasks.js';

// handleSignals: on SIGTERM/SIGINT the worker finishes or requeues its tasks, closes the broker and
// backend, and the process exits.
const worker = createWorker({ ...connections(), tasks, concurrency: 8, handleSignals: true });
await worker.start();
console.log('worker ready');
