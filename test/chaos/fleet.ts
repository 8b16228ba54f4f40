import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@celeriac/testkit';

const script = fileURLToPath(new URL('./fixtures/chaos-worker.mjs', import.meta.url));

/** A worker process of the fleet. */
interface Member {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

/**
 * Worker processes (fixtures/chaos-worker.mjs) run on the built packages. Their stderr goes to
 * one file, for diagnosis when a run goes wrong.
 */
export class WorkerFleet {
  private readonly members = new Set<Member>();
  private readonly stderr: WriteStream;
  /** Workers started in total, killed with SIGKILL, and stopped with SIGTERM. */
  readonly counts = { started: 0, killed: 0, terminated: 0 };

  constructor(
    private readonly env: Readonly<Record<string, string>>,
    stderrFile: string,
  ) {
    this.stderr = createWriteStream(stderrFile, { flags: 'a' });
  }

  get size(): number {
    return this.members.size;
  }

  /** Starts `n` workers and resolves once each has said it is consuming. */
  async grow(n: number): Promise<void> {
    await Promise.all(Array.from({ length: n }, () => this.startOne()));
  }

  private async startOne(): Promise<void> {
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.counts.started++;
    let ready = false;
    let exitCode: number | string | null = null;
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString('utf8').includes('ready')) ready = true;
    });
    child.stderr?.on('data', (chunk: Buffer) =>
      this.stderr.write(`[${child.pid}] ${chunk.toString('utf8')}`),
    );
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        exitCode = code ?? signal;
        this.members.delete(member);
        resolve();
      }),
    );
    const member: Member = { child, exited };
    this.members.add(member);
    await waitFor(
      () => {
        if (exitCode !== null) throw new Error(`chaos worker ${child.pid} exited at start (${exitCode})`);
        return ready;
      },
      { timeoutMs: 60_000, what: `chaos worker ${child.pid} to be ready` },
    );
  }

  /** SIGKILLs one worker (the oldest) and resolves once it is gone. */
  async killOne(): Promise<number | undefined> {
    const [member] = this.members;
    if (!member) return undefined;
    member.child.kill('SIGKILL');
    this.counts.killed++;
    await member.exited;
    return member.child.pid;
  }

  /** SIGTERMs every worker at once and resolves once all have exited (SIGKILL after `limitMs`). */
  async terminateAll(limitMs = 60_000): Promise<void> {
    const all = [...this.members];
    for (const m of all) m.child.kill('SIGTERM');
    this.counts.terminated += all.length;
    const timer = setTimeout(() => {
      for (const m of all) m.child.kill('SIGKILL');
    }, limitMs);
    await Promise.all(all.map((m) => m.exited));
    clearTimeout(timer);
  }

  /** Stops whatever is left (gracefully) and closes the stderr file. */
  async close(): Promise<void> {
    await this.terminateAll(20_000);
    await new Promise<void>((resolve) => this.stderr.end(resolve));
  }
}
