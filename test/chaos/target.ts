import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Broker } from '@celeriac/core';

/** The repository root. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A client library as the adapter package itself resolves it (the tests speak raw Redis or AMQP as a
 * foreign producer would, with the very client the adapter uses).
 */
export function adapterRequire(adapterDir: string): NodeJS.Require {
  return createRequire(`${repoRoot}packages/${adapterDir}/package.json`);
}

/** What the chaos run needs of one broker. */
export interface ChaosTarget {
  readonly name: 'redis' | 'rabbitmq' | 'kafka';
  /** The adapter package the worker processes load (built before the run). */
  readonly packageName: string;
  /** Options the worker processes pass to the adapter's constructor (JSON). */
  readonly workerOptions: Readonly<Record<string, unknown>>;
  /** A broker for the test process: publishing, dead letters. */
  openBroker(): Broker;
  /** Puts undecodable bytes on the queue, as a foreign producer might. */
  injectRaw(queue: string, raw: string): Promise<void>;
  /** What "restart with persistence" means on this broker, for the report. */
  readonly restartHow: string;
  /**
   * Stops the broker and starts it again on its data; resolves once it serves again, with the
   * moment it began to accept connections when that came before the restart command returned.
   */
  restart(): Promise<number | undefined>;
  /** The broker's server process, for SIGSTOP/SIGCONT. */
  serverPid(): Promise<number>;
  /** How long a pause lasts: past the clients' heartbeat or session timeouts. */
  readonly pauseMs: number;
  /** Messages of the queue held by consumers without an ack, and waiting (ready or delayed). */
  held(queue: string): Promise<{ unacked: number; waiting: number }>;
  /** Releases what the target started or created. */
  close(queue: string): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * SIGSTOPs `pid` for `ms`, then SIGCONTs it. The SIGCONT is also sent if this process exits in
 * between, so a failed run never leaves a shared broker frozen.
 */
export async function freeze(pid: number, ms: number): Promise<void> {
  const thaw = () => {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // already gone
    }
  };
  process.once('exit', thaw);
  try {
    process.kill(pid, 'SIGSTOP');
    await sleep(ms);
  } finally {
    thaw();
    process.off('exit', thaw);
  }
}
