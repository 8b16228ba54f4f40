/**
 * The headers flow control adds to a task message. Producer and worker both read this file, so it
 * imports nothing from either side.
 */
import type { TaskHeaders } from '../message.js';
import type { DedupeMode } from './flow-store.js';

/** A start reserved in the task's rate-limit bucket (ms, store clock), carried by a deferred copy. */
export const RATE_SLOT_HEADER = 'x-celeriac-rate-slot';
/** How often flow control has deferred this task: the backoff of a task waiting for a slot grows with it. */
export const DEFERRALS_HEADER = 'x-celeriac-deferrals';
/** The deduplication key, mode and TTL a task was enqueued with. */
export const DEDUPE_HEADER = 'x-celeriac-dedupe';

/** The dead-letter reason code of a task that failed for good under `deadLetterOnFailure`. */
export const TASK_FAILED = 'TASK_FAILED';

/** What the dedupe header holds. */
export interface DedupeHeader {
  /** The key as stored: scoped by task name. */
  readonly key: string;
  readonly mode: DedupeMode;
  readonly ttlMs: number;
}

const MODES: ReadonlySet<string> = new Set(['skip', 'replace', 'debounce', 'throttle']);

/** The dedupe header of a message, when it carries a well-formed one. */
export function dedupeOf(headers: Readonly<TaskHeaders>): DedupeHeader | undefined {
  const value = headers[DEDUPE_HEADER];
  if (typeof value !== 'object' || value === null) return undefined;
  const { key, mode, ttlMs } = value as Record<string, unknown>;
  if (typeof key !== 'string' || typeof mode !== 'string' || !MODES.has(mode)) return undefined;
  return { key, mode: mode as DedupeMode, ttlMs: typeof ttlMs === 'number' && ttlMs > 0 ? ttlMs : 0 };
}

/** The store key of a deduplication key: one namespace per task name. */
export function dedupeStoreKey(task: string, key: string): string {
  return `${task}:${key}`;
}
