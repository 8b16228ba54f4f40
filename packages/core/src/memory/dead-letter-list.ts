import type { DeadLetter } from '../broker.js';
import { ConfigError } from '../errors.js';

/** Options of the in-memory broker's dead-letter place. */
export interface MemoryBrokerOptions {
  /** Dead letters kept per queue: the newest; older ones are dropped and counted. @default 10000 */
  readonly deadLetterMaxEntries?: number;
  /**
   * UTF-8 bytes of a raw message a dead letter keeps: the head, with the original size noted in the
   * reason; such an entry is not redriven. @default 262144 (256 KiB)
   */
  readonly deadLetterMaxBytes?: number;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v <= 0) {
    throw new ConfigError(`memory broker: ${name} must be a positive integer, got ${v}`);
  }
  return v;
}

/** Resolved {@link MemoryBrokerOptions}: what each queue's dead-letter list keeps. */
export interface DeadLetterLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

/** Applies the defaults (10,000 entries, 256 KiB) and checks the options. */
export function resolveDeadLetterLimits(options: MemoryBrokerOptions = {}): DeadLetterLimits {
  return {
    maxEntries: positiveInteger('deadLetterMaxEntries', options.deadLetterMaxEntries, 10_000),
    maxBytes: positiveInteger('deadLetterMaxBytes', options.deadLetterMaxBytes, 256 * 1024),
  };
}

/** The head of `raw` within `maxBytes` UTF-8 bytes, cut on a character boundary. */
function utf8Head(raw: string, maxBytes: number): string {
  const bytes = Buffer.from(raw, 'utf8');
  let cut = maxBytes;
  // Continuation bytes (10xxxxxx) belong to the character before them.
  while (cut > 0 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut--;
  return bytes.subarray(0, cut).toString('utf8');
}

/**
 * One queue's dead letters, bounded: the newest `deadLetterMaxEntries` are kept and the ones
 * dropped are counted, and a raw message over `deadLetterMaxBytes` keeps its head only.
 */
export class DeadLetterList {
  private readonly entries: DeadLetter[] = [];
  private readonly truncated = new WeakSet<DeadLetter>();
  /** Dead letters dropped, oldest first, to stay within the cap. */
  dropped = 0;

  constructor(private readonly limits: DeadLetterLimits) {}

  /** Adds a dead letter; returns how many older ones were dropped for it. */
  push(letter: DeadLetter): number {
    // A UTF-16 code unit is at most 3 UTF-8 bytes: most messages need no byte count at all.
    const size = letter.raw.length * 3 <= this.limits.maxBytes ? 0 : Buffer.byteLength(letter.raw);
    if (size > this.limits.maxBytes) {
      const raw = utf8Head(letter.raw, this.limits.maxBytes);
      const note = ` [raw message truncated: first ${raw.length} characters kept of ${size} bytes; not redriven]`;
      const cut = { ...letter, raw, reason: { ...letter.reason, message: letter.reason.message + note } };
      this.truncated.add(cut);
      this.entries.push(cut);
    } else {
      this.entries.push(letter);
    }
    const over = this.entries.length - this.limits.maxEntries;
    if (over <= 0) return 0;
    this.entries.splice(0, over);
    this.dropped += over;
    return over;
  }

  /** The oldest `limit` entries, without removing them. */
  read(limit: number): DeadLetter[] {
    return this.entries.slice(0, limit);
  }

  /** Removes and returns the entries that can be redriven; truncated ones stay. */
  takeWhole(): DeadLetter[] {
    const whole = this.entries.filter((d) => !this.truncated.has(d));
    const kept = this.entries.filter((d) => this.truncated.has(d));
    this.entries.splice(0, this.entries.length, ...kept);
    return whole;
  }
}
