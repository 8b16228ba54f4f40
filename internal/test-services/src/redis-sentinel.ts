import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '@celeriac/testkit';
import { freePort, type OwnRedisServer, startRedisServer } from './redis-server.js';
import { probeTcp } from './services.js';

const run = promisify(execFile);

/** A master, its replica and one sentinel (quorum 1), started by a test for itself. */
export interface OwnSentinelSet {
  /** The master name the sentinel monitors. */
  readonly name: string;
  readonly masterPort: number;
  readonly replicaPort: number;
  readonly sentinelPort: number;
  /** `redis+sentinel://127.0.0.1:<sentinel>/<name>` */
  readonly url: string;
  /**
   * Promotes the replica (`SENTINEL FAILOVER`) once it has every write of the master (`WAIT`), and
   * resolves when the sentinel names it as the master.
   */
  failover(): Promise<void>;
  stop(): Promise<void>;
}

/** One command through `redis-cli` (same package as `redis-server`): its reply lines. */
async function cli(port: number, ...args: string[]): Promise<string[]> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout.split('\n').filter((line) => line !== '');
}

/**
 * Starts a master, a replica of it and a sentinel watching them, on free ports, and waits until
 * the sentinel has found the replica (a failover needs one). A failover swaps roles, which is why
 * tests that fail over never use the shared sentinel service.
 */
export async function startRedisSentinelSet(): Promise<OwnSentinelSet> {
  const name = `celeriac-${process.pid}-${Date.now().toString(36)}`;
  const start = async (args: readonly string[] = []): Promise<OwnRedisServer> => {
    const port = await freePort();
    return startRedisServer(port, ['--port', String(port), '--appendonly', 'no', ...args]);
  };
  const master = await start();
  const replica = await start(['--replicaof', '127.0.0.1', String(master.port)]);
  const sentinelPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  // Sentinel rewrites its configuration file, so it gets one of its own.
  writeFileSync(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${name} 2000`,
      `sentinel failover-timeout ${name} 5000`,
      '',
    ].join('\n'),
  );
  const sentinel: ChildProcess = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  const stop = async () => {
    sentinel.kill('SIGTERM');
    await Promise.allSettled([master.stop(), replica.stop()]);
    rmSync(dir, { recursive: true, force: true });
  };
  const masterPortNow = async () => (await cli(sentinelPort, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name))[1];
  try {
    await waitFor(() => probeTcp('127.0.0.1', sentinelPort, 200), { what: 'sentinel listening' });
    await waitFor(
      async () => {
        const lines = await cli(sentinelPort, 'SENTINEL', 'REPLICAS', name);
        return lines.includes(String(replica.port)) && !lines.some((l) => l.includes('s_down'));
      },
      { timeoutMs: 20_000, what: 'the sentinel to find the replica' },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    name,
    masterPort: master.port,
    replicaPort: replica.port,
    sentinelPort,
    url: `redis+sentinel://127.0.0.1:${sentinelPort}/${name}`,
    async failover() {
      const before = await masterPortNow();
      const other = before === String(master.port) ? replica.port : master.port;
      // Replication is asynchronous: the replica gets everything before it is promoted.
      await cli(Number(before), 'WAIT', '1', '5000');
      await cli(sentinelPort, 'SENTINEL', 'FAILOVER', name);
      await waitFor(async () => (await masterPortNow()) === String(other), {
        timeoutMs: 20_000,
        what: 'the sentinel to name the promoted replica',
      });
    },
    stop,
  };
}
