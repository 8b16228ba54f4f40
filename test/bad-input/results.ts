import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../chaos/target.js';
import type { BadInputBroker } from './targets.js';

/** What became of one bad input on one broker. */
export interface InputOutcome {
  /** Stable key of the input (the same on every broker). */
  readonly input: string;
  /** The input in words, for the report. */
  readonly description: string;
  /** `refused`: the publish threw; `dead-lettered`; `ran`: the worker ran it to a final state; `lost`: none of these (a failure). */
  readonly outcome: 'refused' | 'dead-lettered' | 'ran' | 'not applicable' | 'lost';
  /** The error code of a refused publish, or the dead letter's reason code. */
  readonly code?: string;
  /** The final state stored under the message's task id, if any. */
  readonly state?: string;
  /** The stored exception type, for a FAILURE. */
  readonly excType?: string;
  /** Anything else worth a word in the report (a truncated dead letter, why not applicable). */
  readonly note?: string;
}

/** The bad-input table of one broker. */
export interface InputResults {
  readonly broker: BadInputBroker;
  readonly startedAt: string;
  readonly outcomes: readonly InputOutcome[];
  /** Messages of the queue left waiting or held once every input had its outcome. */
  readonly leftOnBroker: number;
}

/** The property-based run of one broker. */
export interface PropertyResults {
  readonly broker: BadInputBroker;
  readonly startedAt: string;
  readonly seed: number;
  readonly runs: number;
  readonly messages: number;
  /** Messages put on the queue as raw bytes (the rest were published as task messages). */
  readonly raw: number;
  readonly acked: number;
  readonly deadLettered: number;
  /** Unsettled deliveries recovered back onto the queue (consumer close or crash). */
  readonly recovered: number;
  readonly crashes: number;
  /**
   * Settled, yet delivered again after recovery (at-least-once): a settlement a crash cut off, or
   * on Kafka a record behind an unsettled one in its partition.
   */
  readonly duplicates: number;
  readonly refusedAtPublish: number;
  /** Why publishes were refused: error code and the first words of the message, once each. */
  readonly refusals: readonly string[];
  /** Held by no consumer yet not back on the queue: must be 0. */
  readonly held: number;
  readonly durationMs: number;
}

/** Where the suite writes its results (ignored by git; RELIABILITY.md is rendered from them). */
export const resultsDir = join(repoRoot, 'test/bad-input/results');

function write(name: string, value: unknown): string {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, name);
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
  return file;
}

export const writeInputResults = (r: InputResults): string => write(`${r.broker}.inputs.json`, r);
export const writePropertyResults = (r: PropertyResults): string => write(`${r.broker}.property.json`, r);
