import { type AnyTaskContract, ConfigError, RemoteTaskError } from '@celeriac/core';
import { createClient, type EnqueueOptions, type TaskHandle } from '@celeriac/core/producer';
import { type ConnectionFlags, connect } from './connect.js';
import { loadContracts } from './load-contracts.js';

/** Flags of `celeriac enqueue`. */
export interface EnqueueFlags extends ConnectionFlags {
  readonly queue?: string;
  readonly wait?: boolean;
  readonly timeout: number;
  readonly count?: number;
  readonly delay?: number;
  readonly priority?: number;
  readonly batch: number;
  /** A module exporting task contracts: inputs of those tasks are validated before publishing. */
  readonly contracts?: string;
}

function parseInput(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch (error) {
    throw new ConfigError(`input is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Enqueues a task (or `--count` copies in batches). A name with a contract in `--contracts` is
 * validated before publishing; any other name is sent untyped, as kwargs (the worker validates it),
 * e.g. to a Python task.
 */
export async function enqueueCommand(
  task: string,
  json: string | undefined,
  flags: EnqueueFlags,
): Promise<number> {
  const input = parseInput(json ?? '{}');
  const contracts = flags.contracts ? await loadContracts(flags.contracts) : undefined;
  const contract: AnyTaskContract | undefined = contracts?.get(task);
  const conn = await connect(flags);
  const client = createClient({ broker: conn.broker, backend: conn.backend, batchSize: flags.batch });
  const options: EnqueueOptions = {
    ...(flags.queue ? { queue: flags.queue } : {}),
    ...(flags.delay ? { delayMs: flags.delay } : {}),
    ...(flags.priority !== undefined ? { priority: flags.priority } : {}),
  };
  try {
    let handles: TaskHandle<unknown>[];
    const count = flags.count ?? 1;
    if (contract) {
      handles = [];
      for (let done = 0; done < count; done += flags.batch) {
        const n = Math.min(flags.batch, count - done);
        handles.push(
          ...(await client.enqueueMany(
            contract,
            Array.from({ length: n }, () => input),
            options,
          )),
        );
        if (count > flags.batch) process.stderr.write(`\renqueued ${done + n}/${count}`);
      }
      if (count > flags.batch) process.stderr.write('\n');
    } else {
      const call =
        input !== null && typeof input === 'object' && !Array.isArray(input)
          ? { kwargs: input as Record<string, unknown> }
          : { args: Array.isArray(input) ? input : [input] };
      handles = [];
      for (let i = 0; i < count; i++) handles.push(await client.send(task, call, options));
    }
    if (!flags.wait) {
      for (const h of handles) console.log(h.id);
      return 0;
    }
    let failed = 0;
    for (const h of handles) {
      try {
        console.log(JSON.stringify(await h.result({ timeoutMs: flags.timeout })));
      } catch (error) {
        failed++;
        if (error instanceof RemoteTaskError)
          console.error(`${h.id} ${error.remote.state}: ${error.remote.excType}: ${error.remote.excMessage}`);
        else throw error;
      }
    }
    return failed ? 1 : 0;
  } finally {
    await conn.close();
  }
}
