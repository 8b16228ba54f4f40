import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@celeriac/testkit';

const script = fileURLToPath(new URL('./fixtures/flow-worker.mjs', import.meta.url));

/** One line of the workers' log: a task started (S) or completed (C). */
export interface LogLine {
  readonly kind: 'S' | 'C';
  readonly id: string;
  readonly pid: number;
  readonly at: number;
  readonly key: string;
}

/** Reads the workers' log; only the lines of `ids` when given. */
export function readLog(file: string, ids?: ReadonlySet<string>): LogLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [kind, id, pid, at, key] = l.split(' ');
      return { kind: kind as 'S' | 'C', id: id ?? '', pid: Number(pid), at: Number(at), key: key ?? '' };
    })
    .filter((l) => !ids || ids.has(l.id));
}

/** Most starts in any window of `windowMs`. */
export function mostInWindow(starts: readonly number[], windowMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let most = 0;
  let from = 0;
  for (let to = 0; to < sorted.length; to++) {
    while ((sorted[to] as number) - (sorted[from] as number) >= windowMs) from++;
    most = Math.max(most, to - from + 1);
  }
  return most;
}

/**
 * Most tasks of one key running at once, from their start and completion lines. A task counts
 * from its start to its completion; one completing in the same millisecond another starts does not
 * overlap it (the completion is logged before the slot is released).
 */
export function mostRunning(lines: readonly LogLine[]): number {
  const events = lines
    .map((l) => ({ at: l.at, delta: l.kind === 'S' ? 1 : -1 }))
    .sort((a, b) => a.at - b.at || a.delta - b.delta);
  let running = 0;
  let most = 0;
  for (const e of events) {
    running += e.delta;
    most = Math.max(most, running);
  }
  return most;
}

/** Worker processes running fixtures/flow-worker.mjs on the built packages. */
export class FlowFleet {
  private readonly members = new Map<number, { child: ChildProcess; exited: Promise<void> }>();
  private stderr = '';

  constructor(private readonly env: Readonly<Record<string, string>>) {}

  /** Starts `n` workers and resolves once each consumes. */
  async grow(n: number): Promise<void> {
    await Promise.all(Array.from({ length: n }, () => this.startOne()));
  }

  private async startOne(): Promise<void> {
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let ready = false;
    let exit: number | string | null = null;
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString('utf8').includes('ready')) ready = true;
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4000);
    });
    const pid = child.pid ?? 0;
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        exit = code ?? signal;
        this.members.delete(pid);
        resolve();
      }),
    );
    this.members.set(pid, { child, exited });
    await waitFor(
      () => {
        if (exit !== null) throw new Error(`flow worker exited at start (${exit}): ${this.stderr}`);
        return ready;
      },
      { timeoutMs: 60_000, what: `flow worker ${pid} to be ready` },
    );
  }

  get pids(): number[] {
    return [...this.members.keys()];
  }

  /** SIGKILLs the worker `pid` and resolves once it is gone. */
  async kill(pid: number): Promise<void> {
    const m = this.members.get(pid);
    if (!m) return;
    m.child.kill('SIGKILL');
    await m.exited;
  }

  /** Stops every worker (SIGTERM, SIGKILL after 20 s). */
  async close(): Promise<void> {
    const all = [...this.members.values()];
    for (const m of all) m.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const m of all) m.child.kill('SIGKILL');
    }, 20_000);
    await Promise.all(all.map((m) => m.exited));
    clearTimeout(timer);
  }

  /** What the workers wrote on stderr lately, for failure messages. */
  get errors(): string {
    return this.stderr;
  }
}
