import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './connection.js';
import type { Keyspace } from './keys.js';
import { FETCH } from './lua/fetch.js';
import { HEARTBEAT, RELEASE, SWEEP } from './lua/maintenance.js';
import { PRELUDE } from './lua/prelude.js';
import { DELAY, DEPTH, PURGE, REDRIVE } from './lua/queue-admin.js';
import { SETTLE } from './lua/settle.js';

const SCRIPTS = {
  celeriacFetch: FETCH,
  celeriacSettle: SETTLE,
  celeriacHeartbeat: HEARTBEAT,
  celeriacRelease: RELEASE,
  celeriacSweep: SWEEP,
  celeriacDelay: DELAY,
  celeriacDepth: DEPTH,
  celeriacPurge: PURGE,
  celeriacRedrive: REDRIVE,
} as const;

/** Name of one of the broker's Lua scripts. */
export type ScriptName = keyof typeof SCRIPTS;

type ScriptArg = string | number;
type ScriptFn = (...args: ScriptArg[]) => Promise<unknown>;
type PipelineScriptFn = (...args: ScriptArg[]) => ChainableCommander;

/**
 * Registers the scripts on a client. ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT,
 * so scripts survive a Redis restart or failover without our help.
 */
export function defineScripts(client: RedisClient): void {
  for (const [name, body] of Object.entries(SCRIPTS)) client.defineCommand(name, { lua: PRELUDE + body });
}

/** The keys and arguments every script starts with (see the prelude). */
function frame(keyspace: Keyspace, keys: readonly string[], args: readonly ScriptArg[]): ScriptArg[] {
  const common = [
    keyspace.unacked,
    keyspace.unackedIndex,
    keyspace.unackedRaw,
    keyspace.deliveries,
    keyspace.consumers,
  ];
  const { maxEntries, maxBytes } = keyspace.deadLetters;
  const flags = `${keyspace.cluster ? '1' : '0'}:${maxEntries}:${maxBytes}`;
  const head = [flags, keyspace.heldPrefix, keyspace.queue];
  return [common.length + keys.length, ...common, ...keys, ...head, ...args];
}

/** Runs a script in a keyspace. */
export function runScript(
  client: RedisClient,
  name: ScriptName,
  keyspace: Keyspace,
  keys: readonly string[],
  args: readonly ScriptArg[],
): Promise<unknown> {
  const fn = (client as unknown as Record<ScriptName, ScriptFn>)[name];
  return fn.apply(client, frame(keyspace, keys, args));
}

/** Queues a script call on a pipeline. */
export function pipeScript(
  pipeline: ChainableCommander,
  name: ScriptName,
  keyspace: Keyspace,
  keys: readonly string[],
  args: readonly ScriptArg[],
): void {
  const fn = (pipeline as unknown as Record<ScriptName, PipelineScriptFn>)[name];
  fn.apply(pipeline, frame(keyspace, keys, args));
}
