import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBroker } from '../src/index.js';
import { type OwnRedis, startRedis } from './redis-server.js';

const exec = promisify(execFile);

async function cli(port: number, ...args: string[]): Promise<string> {
  return (await exec('redis-cli', ['-p', String(port), ...args])).stdout;
}

/** Calls of one command since the server started, from `INFO commandstats`. */
async function calls(port: number, command: string): Promise<number> {
  const info = await cli(port, 'INFO', 'commandstats');
  const m = info.match(new RegExp(`^cmdstat_${command.replace('|', '\\|')}:calls=(\\d+)`, 'm'));
  return m ? Number(m[1]) : 0;
}

// Redis ends a blocking wait's timeout on its cron (every 1/hz s), not on time: the consumer must
// not leave a delayed message due soon to that timer.
describe('a consumer waiting for a delayed message due soon', () => {
  let server: OwnRedis | undefined;

  beforeAll(async () => {
    // hz 1: a blocking timeout may end up to a second late, so a wait left to Redis shows.
    server = await startRedis(['--hz', '1']);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('ends its blocking wait itself when the message is due (CLIENT UNBLOCK), not on the server cron', async () => {
    const port = server?.port ?? 0;
    const b = new RedisBroker({ url: `redis://127.0.0.1:${port}`, pollFallbackMs: 60_000 });
    try {
      const queue = uniqueName('due');
      const got: Delivery[] = [];
      await b.consume({ queues: [queue], prefetch: 1, onDelivery: (d) => got.push(d) });
      const before = await calls(port, 'client|unblock');
      const message = createTaskMessage({ task: 'tasks.later' });
      await b.publish({ queue, message, delayMs: 300 });
      const d = await waitFor(() => got[0], { timeoutMs: 10_000, what: 'the delayed delivery' });
      expect(d.kind === 'task' && d.message.headers.id).toBe(message.headers.id);
      await d.ack();
      expect(await calls(port, 'client|unblock')).toBeGreaterThan(before);
    } finally {
      await b.close();
    }
  });
});
