import type {
  WorkflowNodeLinks,
  WorkflowNodeState,
  WorkflowSnapshot,
  WorkflowStore,
  WorkflowTransition,
} from '@celeriac/core/adapter';
import type { Redis } from 'ioredis';
import { toCeleriacError } from './errors.js';

/** The key of one workflow's hash, with Celery's `global_keyprefix` rule applied. */
export function workflowKeyOf(prefix: string): (id: string) => string {
  const p = prefix === '' || /[:_\-.]$/.test(prefix) ? prefix : `${prefix}_`;
  return (id) => `${p}celeriac-workflow-${id}`;
}

// One hash per workflow. Fields: `def` (the definition, as written), `nodes` (names, JSON),
// `total`, `final`, and per node `after:`, `dependents:` (JSON lists of names), `policy:`,
// `state:`, `result:` (as written), `by:` (whose success made it READY), `cause:` (whose failure
// settled it). Results and the definition are only moved, never decoded, so Lua never re-encodes
// user data; node names are the only JSON it reads.
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local nodes = cjson.decode(ARGV[2])
local names = {}
for _, n in ipairs(nodes) do
  table.insert(names, n.name)
  local state = 'PENDING'
  if #n.after == 0 then state = 'READY' end
  redis.call('HSET', KEYS[1], 'after:' .. n.name, n.afterJson, 'dependents:' .. n.name, n.dependentsJson,
    'policy:' .. n.name, n.policy, 'state:' .. n.name, state)
end
redis.call('HSET', KEYS[1], 'def', ARGV[1], 'total', #nodes, 'final', 0, 'nodes', cjson.encode(names))
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`;

const COMPLETE = `
local key, node, outcome = KEYS[1], ARGV[1], ARGV[2]
local current = redis.call('HGET', key, 'state:' .. node)
if not current then return false end
local function list(field) return cjson.decode(redis.call('HGET', key, field) or '[]') end
local recorded = 0
if current == 'PENDING' or current == 'READY' then
  recorded = 1
  redis.call('HSET', key, 'state:' .. node, outcome, 'result:' .. node, ARGV[3])
  redis.call('HINCRBY', key, 'final', 1)
  if outcome == 'SUCCESS' then
    for _, d in ipairs(list('dependents:' .. node)) do
      if redis.call('HGET', key, 'state:' .. d) == 'PENDING' then
        local all = true
        for _, a in ipairs(list('after:' .. d)) do
          if redis.call('HGET', key, 'state:' .. a) ~= 'SUCCESS' then all = false end
        end
        if all then redis.call('HSET', key, 'state:' .. d, 'READY', 'by:' .. d, node) end
      end
    end
  else
    local queue, head = { node }, 1
    while head <= #queue do
      local n = queue[head]
      head = head + 1
      for _, d in ipairs(list('dependents:' .. n)) do
        if redis.call('HGET', key, 'state:' .. d) == 'PENDING' then
          local state = 'FAILURE'
          if redis.call('HGET', key, 'policy:' .. d) == 'skip' then state = 'SKIPPED' end
          redis.call('HSET', key, 'state:' .. d, state, 'cause:' .. d, node)
          redis.call('HINCRBY', key, 'final', 1)
          table.insert(queue, d)
        end
      end
    end
  end
end
local ready = {}
for _, d in ipairs(list('dependents:' .. node)) do
  if redis.call('HGET', key, 'by:' .. d) == node and redis.call('HGET', key, 'state:' .. d) == 'READY' then
    table.insert(ready, d)
  end
end
local settled = {}
for _, n in ipairs(list('nodes')) do
  if redis.call('HGET', key, 'cause:' .. n) == node then
    table.insert(settled, n)
    table.insert(settled, redis.call('HGET', key, 'state:' .. n))
  end
end
local finished = 0
if redis.call('HGET', key, 'final') == redis.call('HGET', key, 'total') then finished = 1 end
if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', key, ARGV[4]) end
return { recorded, ready, settled, finished }
`;

interface WorkflowScriptClient extends Redis {
  celeriacWorkflowCreate(key: string, definition: string, nodes: string, ttlMs: number): Promise<number>;
  celeriacWorkflowComplete(
    key: string,
    node: string,
    state: string,
    result: string,
    ttlMs: number,
  ): Promise<[number, string[], string[], number] | null>;
}

function withWorkflowScripts(client: Redis): WorkflowScriptClient {
  client.defineCommand('celeriacWorkflowCreate', { numberOfKeys: 1, lua: CREATE });
  client.defineCommand('celeriacWorkflowComplete', { numberOfKeys: 1, lua: COMPLETE });
  return client as WorkflowScriptClient;
}

/**
 * Workflows on Redis: one hash per workflow, changed only by Lua scripts, so recording a node's
 * outcome and everything it implies (dependents made runnable, or settled by their policy) is one
 * atomic step however many workers drive the workflow. The hash expires with the backend's TTL,
 * renewed on every transition.
 */
export class RedisWorkflowStore implements WorkflowStore {
  private readonly client: WorkflowScriptClient;

  constructor(
    primary: Redis,
    private readonly keyOf: (id: string) => string,
    private readonly ttlMs: number,
  ) {
    this.client = withWorkflowScripts(primary);
  }

  async createWorkflow(
    id: string,
    definition: string,
    nodes: readonly WorkflowNodeLinks[],
    ttlMs = this.ttlMs,
  ): Promise<boolean> {
    const dependents = new Map<string, string[]>(nodes.map((n) => [n.name, []]));
    for (const n of nodes) for (const a of n.after) dependents.get(a)?.push(n.name);
    // Lists go as JSON text the script stores as it is (cjson would turn an empty list into {}).
    const shaped = nodes.map((n) => ({
      name: n.name,
      after: n.after,
      afterJson: JSON.stringify(n.after),
      dependentsJson: JSON.stringify(dependents.get(n.name) ?? []),
      policy: n.onUpstreamFailure,
    }));
    try {
      return (
        (await this.client.celeriacWorkflowCreate(
          this.keyOf(id),
          definition,
          JSON.stringify(shaped),
          ttlMs,
        )) === 1
      );
    } catch (error) {
      throw toCeleriacError(error, 'createWorkflow');
    }
  }

  async completeWorkflowNode(
    id: string,
    node: string,
    state: 'SUCCESS' | 'FAILURE',
    result: string,
  ): Promise<WorkflowTransition | null> {
    let reply: [number, string[], string[], number] | null;
    try {
      reply = await this.client.celeriacWorkflowComplete(this.keyOf(id), node, state, result, this.ttlMs);
    } catch (error) {
      throw toCeleriacError(error, 'completeWorkflowNode');
    }
    if (!reply) return null;
    const [recorded, ready, flat, finished] = reply;
    const settled: { node: string; state: 'FAILURE' | 'SKIPPED' }[] = [];
    for (let i = 0; i < flat.length; i += 2)
      settled.push({ node: flat[i] as string, state: flat[i + 1] as 'FAILURE' | 'SKIPPED' });
    return { recorded: recorded === 1, ready, settled, finished: finished === 1 };
  }

  async getWorkflow(id: string): Promise<WorkflowSnapshot | null> {
    let hash: Record<string, string>;
    try {
      hash = await this.client.hgetall(this.keyOf(id));
    } catch (error) {
      throw toCeleriacError(error, 'getWorkflow');
    }
    if (hash.def === undefined) return null;
    const nodes: Record<string, { state: WorkflowNodeState; result: string | null }> = {};
    for (const name of JSON.parse(hash.nodes ?? '[]') as string[])
      nodes[name] = {
        state: hash[`state:${name}`] as WorkflowNodeState,
        result: hash[`result:${name}`] ?? null,
      };
    return { definition: hash.def, nodes };
  }
}
