import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@celeriac/testkit';
import { probeTcp } from './services.js';

/** A free loopback TCP port (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A `redis-server` a test started for itself (restarts, auth, TLS, replicas: things not to do to the shared one). */
export interface OwnRedisServer {
  /** The port the readiness probe used (the TLS port when only TLS listens). */
  readonly port: number;
  readonly dir: string;
  /** Stops it cleanly (persisting if configured) and starts it again with the same data and ports. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` with `args` (which name the ports, e.g. `--port N` or `--port 0 --tls-port N`)
 * in a temporary directory, without snapshots, and waits until `probePort` accepts connections.
 */
export async function startRedisServer(probePort: number, args: readonly string[]): Promise<OwnRedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-redis-'));
  let child: ChildProcess | undefined;
  const launch = async () => {
    const c = spawn('redis-server', ['--bind', '127.0.0.1', '--save', '', '--dir', dir, ...args], {
      stdio: 'ignore',
    });
    child = c;
    let exitedEarly = false;
    c.once('exit', () => {
      exitedEarly = true;
    });
    await waitFor(
      () => {
        if (exitedEarly)
          throw new Error(`redis-server on ${probePort} exited at start (args: ${args.join(' ')})`);
        return probeTcp('127.0.0.1', probePort, 200);
      },
      { timeoutMs: 10_000, what: `redis-server on ${probePort}` },
    );
  };
  const halt = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    // SIGTERM makes redis-server shut down cleanly (writing its AOF when enabled).
    c.kill('SIGTERM');
    await exited;
  };
  await launch();
  return {
    port: probePort,
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
