import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startCli } from './cli-helpers.js';

const redis = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const program = fileURLToPath(new URL('./fixtures/signal-worker.mjs', import.meta.url));

describe('a worker with handleSignals', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`ends the process on ${signal}: stops, then closes the broker and backend it was given`, async () => {
      const worker = startCli(program, [redis, `signals-${randomUUID().slice(0, 8)}`]);
      await worker.waitFor('worker ready', 30_000);
      worker.child.kill(signal);
      // Without the close, the Redis connections keep the process alive and this never resolves.
      expect(await worker.exited()).toBe(0);
      expect(worker.output()).toContain('worker offline');
    });
  }
});
