import { redriveDeadLetters } from '@celeriac/core/producer';
import { type ConnectionFlags, connect } from './connect.js';

/** `celeriac result <id>`: prints state and result as JSON. */
export async function resultCommand(
  id: string,
  flags: ConnectionFlags & { wait?: boolean; timeout: number },
): Promise<number> {
  const conn = await connect(flags);
  try {
    const meta = flags.wait
      ? await conn.backend.wait(id, { timeoutMs: flags.timeout })
      : await conn.backend.get(id);
    console.log(
      JSON.stringify({
        id,
        state: meta?.status ?? 'PENDING',
        result: meta?.result ?? null,
        date_done: meta?.date_done ?? null,
      }),
    );
    return meta?.status === 'FAILURE' || meta?.status === 'REVOKED' ? 1 : 0;
  } finally {
    await conn.close();
  }
}

/** `celeriac depth <queue…>`: waiting messages per queue. */
export async function depthCommand(queues: string[], flags: ConnectionFlags): Promise<number> {
  const conn = await connect(flags);
  try {
    for (const q of queues) console.log(`${q}\t${await conn.broker.depth(q)}`);
    return 0;
  } finally {
    await conn.close();
  }
}

/** `celeriac purge <queue>`: removes waiting and delayed messages. */
export async function purgeCommand(queue: string, flags: ConnectionFlags): Promise<number> {
  const conn = await connect(flags);
  try {
    console.log(`purged ${await conn.broker.purge(queue)} message(s) from ${queue}`);
    return 0;
  } finally {
    await conn.close();
  }
}

/** `celeriac dlq <list|redrive> <queue>`: dead letters with their reasons. */
export async function dlqCommand(
  action: string,
  queue: string,
  flags: ConnectionFlags & { limit: number },
): Promise<number> {
  const conn = await connect(flags);
  try {
    if (action === 'redrive') {
      // Through core's redrive, which clears the FAILUREs stored at rejection so the tasks run again.
      const { moved, cleared } = await redriveDeadLetters(conn.broker, conn.backend, queue);
      console.log(`redrove ${moved} message(s) onto ${queue} (${cleared} stored failure(s) cleared)`);
      return 0;
    }
    for (const d of await conn.broker.readDeadLetters(queue, flags.limit)) {
      console.log(
        JSON.stringify({
          at: d.at.toISOString(),
          reason: d.reason,
          raw: d.raw.length > 500 ? `${d.raw.slice(0, 500)}…` : d.raw,
        }),
      );
    }
    return 0;
  } finally {
    await conn.close();
  }
}
