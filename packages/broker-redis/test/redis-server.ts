import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeTcp, waitFor } from '@celeriac/testkit';

/** A free loopback TCP port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server this test started itself, on a spare port, with its own data directory. */
export interface OwnRedis {
  readonly port: number;
  readonly dir: string;
  /** Shuts it down (persisting if configured) and starts it again on the same port and data. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `redis-server` with extra arguments (e.g. `--requirepass`, `--appendonly yes`). */
export async function startRedis(
  args: readonly string[] = [],
  options: { port?: number } = {},
): Promise<OwnRedis> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-redis-'));
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, ...args],
      {
        stdio: 'ignore',
      },
    );
    await waitFor(() => probeTcp('127.0.0.1', port, 200), {
      timeoutMs: 10_000,
      what: `redis-server on ${port}`,
    });
  };
  const halt = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    // SIGTERM makes redis-server shut down cleanly (writing its AOF when enabled).
    c.kill('SIGTERM');
    await exited;
  };
  await launch();
  return {
    port,
    dir,
    restart: async (downMs = 500) => {
      await halt();
      await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    stop: async () => {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
