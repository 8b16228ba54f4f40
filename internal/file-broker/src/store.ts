import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BrokerError, type DeadLetter, type DeadLetterReason } from '@celeriac/core/adapter';
import { ADAPTER, isMissing } from './errors.js';
import {
  heldName,
  newKey,
  OWNERS_DIR,
  parseDead,
  parseHeld,
  parseWaiting,
  type QueuePaths,
  queuePaths,
  readyAtOf,
  TMP_DIR,
  tmpName,
  waitingName,
} from './layout.js';

/** One message a consumer holds: where its file is and how often it was delivered. */
export interface HeldFile {
  readonly queue: string;
  /** The file name in the queue's held/ directory. */
  readonly name: string;
  readonly key: string;
  readonly count: number;
}

/** Names in `dir`, sorted; none if it does not exist. */
async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

/** Renames, telling a vanished source (`false`) from a failure (thrown). */
async function move(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

/**
 * The file operations on one broker directory. Holds no state of its own beyond which directories
 * it created, so any number of stores in any number of processes can share a directory.
 */
export class Store {
  private readonly tmp: string;
  readonly owners: string;
  private readonly ready = new Map<string, Promise<QueuePaths>>();

  constructor(readonly root: string) {
    this.tmp = join(root, TMP_DIR);
    this.owners = join(root, OWNERS_DIR);
  }

  paths(queue: string): QueuePaths {
    return queuePaths(this.root, queue);
  }

  /** The queue's directories, created once per store. */
  ensure(queue: string): Promise<QueuePaths> {
    let made = this.ready.get(queue);
    if (made === undefined) {
      const paths = this.paths(queue);
      made = Promise.all(
        [this.tmp, this.owners, paths.ready, paths.delayed, paths.held, paths.dead].map((d) =>
          mkdir(d, { recursive: true }),
        ),
      ).then(() => paths);
      made.catch(() => this.ready.delete(queue));
      this.ready.set(queue, made);
    }
    return made;
  }

  /** Writes `text` completely in tmp, then renames it into `dir` as `name`: readers never see half. */
  private async place(text: string, dir: string, name: string): Promise<void> {
    const tmp = join(this.tmp, tmpName());
    await writeFile(tmp, text);
    await rename(tmp, join(dir, name));
  }

  /** Adds a message, ready now or (with `delayMs`) delayed. */
  async put(queue: string, text: string, delayMs: number): Promise<void> {
    const paths = await this.ensure(queue);
    const now = Date.now();
    const dir = delayMs > 0 ? paths.delayed : paths.ready;
    await this.place(text, dir, waitingName(newKey(now + Math.max(0, delayMs)), 0));
  }

  /** Ready message names of a queue, oldest first. */
  async listReady(queue: string): Promise<string[]> {
    return (await list(this.paths(queue).ready)).filter((n) => parseWaiting(n) !== undefined);
  }

  /**
   * Moves due delayed messages to ready/ (any process may; one rename wins). Returns when the next
   * delayed message is due, or `Infinity`.
   */
  async promoteDue(queue: string): Promise<number> {
    const paths = this.paths(queue);
    const now = Date.now();
    for (const name of await list(paths.delayed)) {
      const waiting = parseWaiting(name);
      if (waiting === undefined) continue;
      const due = readyAtOf(waiting.key);
      if (due > now) return due;
      await move(join(paths.delayed, name), join(paths.ready, name));
    }
    return Number.POSITIVE_INFINITY;
  }

  /** Claims a ready message for `owner`; `undefined` if another consumer claimed it first. */
  async claim(queue: string, name: string, owner: string): Promise<HeldFile | undefined> {
    const waiting = parseWaiting(name);
    if (waiting === undefined) return undefined;
    const paths = this.paths(queue);
    const held = heldName(waiting.key, waiting.count + 1, owner);
    if (!(await move(join(paths.ready, name), join(paths.held, held)))) return undefined;
    return { queue, name: held, key: waiting.key, count: waiting.count + 1 };
  }

  readHeld(held: HeldFile): Promise<string> {
    return readFile(join(this.paths(held.queue).held, held.name), 'utf8');
  }

  /**
   * The held file is gone: either it was taken back (lease expired) and there is nothing to do, or
   * the directory itself is unreachable, which is a failure the caller must hear of.
   */
  private async vanished(held: HeldFile, ...dirs: string[]): Promise<void> {
    for (const dir of [this.paths(held.queue).held, ...dirs]) {
      try {
        await stat(dir);
      } catch (error) {
        throw new BrokerError(ADAPTER, `queue directory ${dir} is unavailable`, true, { cause: error });
      }
    }
  }

  async ack(held: HeldFile): Promise<void> {
    try {
      await unlink(join(this.paths(held.queue).held, held.name));
    } catch (error) {
      if (!isMissing(error)) throw error;
      await this.vanished(held);
    }
  }

  /** Puts a held message back at the end of the queue, or delayed, keeping its delivery count. */
  async requeue(held: HeldFile, delayMs: number): Promise<void> {
    const paths = this.paths(held.queue);
    const dir = delayMs > 0 ? paths.delayed : paths.ready;
    const to = join(dir, waitingName(newKey(Date.now() + Math.max(0, delayMs)), held.count));
    if (!(await move(join(paths.held, held.name), to))) await this.vanished(held, dir);
  }

  /** Returns a held message to its place at the head of the queue (close, lease expiry). */
  async giveBack(held: HeldFile): Promise<void> {
    const paths = this.paths(held.queue);
    await move(join(paths.held, held.name), join(paths.ready, waitingName(held.key, held.count)));
  }

  /**
   * Dead-letters a held message: the reason is written first, then the message renamed beside it,
   * so the rename decides (a message taken back meanwhile is not dead-lettered).
   */
  async deadLetter(held: HeldFile, reason: DeadLetterReason): Promise<void> {
    const paths = this.paths(held.queue);
    const now = Date.now();
    const key = newKey(now);
    const reasonFile = join(paths.dead, `${key}.reason`);
    await this.place(
      JSON.stringify({ code: reason.code, message: reason.message, at: now }),
      paths.dead,
      `${key}.reason`,
    );
    let moved: boolean;
    try {
      moved = await move(join(paths.held, held.name), join(paths.dead, `${key}.msg`));
    } catch (error) {
      await unlink(reasonFile).catch(() => undefined);
      throw error;
    }
    if (!moved) {
      await unlink(reasonFile).catch(() => undefined);
      await this.vanished(held, paths.dead);
    }
  }

  /**
   * Returns the held messages of owners whose lease is not alive to ready/, with their delivery
   * count (the next claim counts one more delivery).
   */
  async recover(queue: string, isAlive: (owner: string) => Promise<boolean>): Promise<number> {
    const paths = this.paths(queue);
    let recovered = 0;
    for (const name of await list(paths.held)) {
      const held = parseHeld(name);
      if (held === undefined || (await isAlive(held.owner))) continue;
      const to = join(paths.ready, waitingName(held.key, held.count));
      if (await move(join(paths.held, name), to)) recovered += 1;
    }
    return recovered;
  }

  async depth(queue: string): Promise<number> {
    await this.promoteDue(queue);
    return (await this.listReady(queue)).length;
  }

  async purge(queue: string): Promise<number> {
    const paths = this.paths(queue);
    let removed = 0;
    for (const dir of [paths.ready, paths.delayed]) {
      for (const name of await list(dir)) {
        if (parseWaiting(name) === undefined) continue;
        try {
          await unlink(join(dir, name));
          removed += 1;
        } catch (error) {
          if (!isMissing(error)) throw error;
        }
      }
    }
    return removed;
  }

  async readDeadLetters(queue: string, limit: number): Promise<DeadLetter[]> {
    const paths = this.paths(queue);
    const keys = (await list(paths.dead)).flatMap((n) => parseDead(n) ?? []).slice(0, limit);
    const letters: DeadLetter[] = [];
    for (const key of keys) {
      let raw: string;
      try {
        raw = await readFile(join(paths.dead, `${key}.msg`), 'utf8');
      } catch (error) {
        if (isMissing(error)) continue; // redriven meanwhile
        throw error;
      }
      letters.push({ queue, raw, ...(await this.reasonOf(paths, key)) });
    }
    return letters;
  }

  private async reasonOf(paths: QueuePaths, key: string): Promise<Pick<DeadLetter, 'reason' | 'at'>> {
    try {
      const text = await readFile(join(paths.dead, `${key}.reason`), 'utf8');
      const saved = JSON.parse(text) as { code?: unknown; message?: unknown; at?: unknown };
      return {
        reason: { code: String(saved.code), message: String(saved.message) },
        at: new Date(typeof saved.at === 'number' ? saved.at : readyAtOf(key)),
      };
    } catch {
      return { reason: { code: 'UNKNOWN', message: 'no reason was recorded' }, at: new Date(readyAtOf(key)) };
    }
  }

  /** Moves every dead letter back to the end of its queue as a fresh message (count 0). */
  async redrive(queue: string): Promise<number> {
    const paths = this.paths(queue);
    let moved = 0;
    for (const name of await list(paths.dead)) {
      const key = parseDead(name);
      if (key === undefined) continue;
      const to = join(paths.ready, waitingName(newKey(Date.now()), 0));
      if (!(await move(join(paths.dead, name), to))) continue;
      moved += 1;
      await unlink(join(paths.dead, `${key}.reason`)).catch(() => undefined);
    }
    return moved;
  }
}
