import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ConfigError } from '@celeriac/core/adapter';

/**
 * The directory layout, shared by every process using the same directory:
 *
 * ```
 * <root>/.tmp/                 files being written, renamed into place when complete
 * <root>/.owners/<owner>       one lease file per consumer, its mtime refreshed while it lives
 * <root>/<queue>/ready/<key>~<n>          waiting; n = deliveries so far
 * <root>/<queue>/delayed/<key>~<n>        waiting for the time in its key
 * <root>/<queue>/held/<key>~<n>~<owner>   delivered for the n-th time to <owner>
 * <root>/<queue>/dead/<key>.msg           dead letter, and <key>.reason beside it
 * ```
 *
 * A key starts with the time (ms, 15 digits) the message became or becomes ready, then a per-process
 * counter and the process's random id, so names sort in delivery order. Every move is a `rename`
 * within one file system: atomic, and exactly one of two processes renaming the same file succeeds.
 */
export const TMP_DIR = '.tmp';
export const OWNERS_DIR = '.owners';

/** The directories of one queue. */
export interface QueuePaths {
  readonly ready: string;
  readonly delayed: string;
  readonly held: string;
  readonly dead: string;
}

/** A queue's directories under `root`. Queue names are escaped so any name is one safe directory. */
export function queuePaths(root: string, queue: string): QueuePaths {
  if (queue === '') throw new ConfigError('a queue name must not be empty');
  const dir = encodeURIComponent(queue).replaceAll('.', '%2E').replaceAll('*', '%2A');
  if (dir.length > 200) throw new ConfigError(`queue name too long for a directory: ${queue.slice(0, 40)}…`);
  const base = join(root, dir);
  return {
    ready: join(base, 'ready'),
    delayed: join(base, 'delayed'),
    held: join(base, 'held'),
    dead: join(base, 'dead'),
  };
}

/** This process's part of every key, so two processes never make the same one. */
const PROCESS_ID = randomBytes(4).toString('hex');
let counter = 0;

/** A new key that sorts after every earlier key of this process with the same or an earlier time. */
export function newKey(readyAt: number): string {
  counter = (counter + 1) % 1e10;
  return `${String(Math.max(0, Math.floor(readyAt))).padStart(15, '0')}-${String(counter).padStart(10, '0')}-${PROCESS_ID}`;
}

/** A unique name for a file being written in the tmp directory. */
export function tmpName(): string {
  return `${newKey(Date.now())}-${randomBytes(4).toString('hex')}`;
}

/** The time (ms) a key says its message is ready. */
export function readyAtOf(key: string): number {
  return Number(key.slice(0, 15));
}

const KEY = /^\d{15}-\d{10}-[0-9a-f]+$/;
const OWNER = /^[0-9a-f]+$/;

/** A waiting message's file name: ready/ and delayed/. */
export interface WaitingName {
  readonly key: string;
  /** Deliveries so far. */
  readonly count: number;
}

/** A held message's file name. */
export interface HeldName extends WaitingName {
  readonly owner: string;
}

export function waitingName(key: string, count: number): string {
  return `${key}~${count}`;
}

export function heldName(key: string, count: number, owner: string): string {
  return `${key}~${count}~${owner}`;
}

function count(text: string | undefined): number | undefined {
  const n = Number(text);
  return text !== undefined && text !== '' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Parses a ready/ or delayed/ name; anything else in the directory (not ours) is ignored. */
export function parseWaiting(name: string): WaitingName | undefined {
  const [key, n, extra] = name.split('~');
  const c = count(n);
  return key !== undefined && KEY.test(key) && c !== undefined && extra === undefined
    ? { key, count: c }
    : undefined;
}

/** Parses a held/ name. */
export function parseHeld(name: string): HeldName | undefined {
  const [key, n, owner, extra] = name.split('~');
  const c = count(n);
  return key !== undefined && KEY.test(key) && c !== undefined && owner && OWNER.test(owner) && !extra
    ? { key, count: c, owner }
    : undefined;
}

/** The key of a dead letter's message file (`<key>.msg`), if it is one. */
export function parseDead(name: string): string | undefined {
  if (!name.endsWith('.msg')) return undefined;
  const key = name.slice(0, -4);
  return KEY.test(key) ? key : undefined;
}
