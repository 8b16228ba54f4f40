import { randomBytes } from 'node:crypto';
import { readdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissing } from './errors.js';

/**
 * A consumer's lease: a file in `.owners/` whose modification time it refreshes four times per
 * lease. Held messages name their owner; once its file is older than a lease (the process died or
 * hung) or gone (it closed), any other consumer may take them back.
 */
export class OwnerLease {
  readonly id = randomBytes(8).toString('hex');
  private readonly file: string;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ownersDir: string,
    readonly leaseMs: number,
  ) {
    this.file = join(ownersDir, this.id);
  }

  /** Takes the lease: written before the first claim, so no claim is ever ownerless. */
  async start(): Promise<void> {
    await writeFile(this.file, '');
    this.timer = setInterval(() => void this.refresh(), Math.max(1, Math.floor(this.leaseMs / 4)));
  }

  private async refresh(): Promise<void> {
    const now = new Date();
    try {
      await utimes(this.file, now, now);
    } catch (error) {
      // Removed by someone else: take it again. An unreachable directory: try at the next beat.
      if (isMissing(error)) await writeFile(this.file, '').catch(() => undefined);
    }
  }

  /** Stops refreshing; the lease runs out on its own (what a crash looks like to others). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Gives the lease up at once (clean close). */
  async release(): Promise<void> {
    this.stop();
    await unlink(this.file).catch(() => undefined);
  }

  /**
   * Removes the files of leases that ran out (crashed consumers), so they do not pile up. Safe: an
   * owner without a file counts as dead exactly like one whose file is too old.
   */
  async reapExpired(): Promise<void> {
    for (const owner of await readdir(this.ownersDir).catch(() => [])) {
      if (!(await this.isAlive(owner))) await unlink(join(this.ownersDir, owner)).catch(() => undefined);
    }
  }

  /** Whether `owner`'s lease is alive; when unsure (an unexpected error) it is presumed alive. */
  async isAlive(owner: string): Promise<boolean> {
    if (owner === this.id) return true;
    try {
      const { mtimeMs } = await stat(join(this.ownersDir, owner));
      return Date.now() - mtimeMs <= this.leaseMs;
    } catch (error) {
      return !isMissing(error);
    }
  }
}
