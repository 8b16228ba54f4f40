import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './connection.js';
import type { Keyspace } from './keys.js';
import { FETCH } from './lua/fetch.js';
import { HEARTBEAT, RELEASE, SWEEP } from './lua/maintenance.js';
import { PRELUDE } from './lua/prelude.js';
import { DELAY, DEPTH, PURGE, REDRIVE } from './lua/queue-admin.js';
import { SETTLE } from './lua/settle.js';
import { settleCarrying } from './lua/settle-carrying.js';

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

/** Per client: the settle-carrying command defined for each backend write script seen. */
const carryingCommands = new WeakMap<RedisClient, Map<string, string>>();

/**
 * Runs the settle script that carries a backend's writes (see `settleCarrying`); defined on first
 * use for each write script (one per backend kind in practice), then sent as EVALSHA.
 */
export function runSettleCarrying(
  client: RedisClient,
  store: string,
  keyspace: Keyspace,
  keys: readonly string[],
  args: readonly ScriptArg[],
): Promise<unknown> {
  let names = carryingCommands.get(client);
  if (!names) {
    names = new Map();
    carryingCommands.set(client, names);
  }
  let name = names.get(store);
  if (name === undefined) {
    name = `celeriacSettleCarrying${names.size}`;
    client.defineCommand(name, { lua: PRELUDE + settleCarrying(store) });
    names.set(store, name);
  }
  const fn = (client as unknown as Record<string, ScriptFn>)[name] as ScriptFn;
  return fn.apply(client, frame(keyspace, keys, args));
}
