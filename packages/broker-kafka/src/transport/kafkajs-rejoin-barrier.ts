import { createRequire } from 'node:module';

/**
 * kafkajs has no rebalance listener: when the coordinator announces a rebalance, kafkajs rejoins
 * at once, and a member cannot finish or commit what it holds before its partitions move. This
 * module adds the missing hook in the one place it fits: it wraps kafkajs's internal
 * `ConsumerGroup#joinAndSync` so that a rejoin of a known member first awaits a callback registered
 * for that member (the group is then still in its old generation, so commits are accepted).
 *
 * It touches an internal of exactly the version this package pins (2.2.4, the last release of an
 * unmaintained library); for any other version it installs nothing and reports so, and the adapter
 * falls back to committing on assignment only.
 */

const require = createRequire(import.meta.url);
const SUPPORTED_VERSION = '2.2.4';

/** The slice of kafkajs's internal consumer group this hook relies on. */
interface InternalConsumerGroup {
  memberId: string | null;
  heartbeat(options: { interval: number }): Promise<void>;
}

type JoinAndSync = (this: InternalConsumerGroup) => Promise<void>;

/** Called before a known member rejoins; `keepAlive` sends a heartbeat under the old generation. */
export type RejoinBarrier = (keepAlive: () => Promise<void>) => Promise<void>;

const barriers = new Map<string, RejoinBarrier>();
let installed: boolean | undefined;

function install(): boolean {
  try {
    const pkg = require('kafkajs/package.json') as { version?: string };
    if (pkg.version !== SUPPORTED_VERSION) return false;
    const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as {
      prototype: { joinAndSync: JoinAndSync };
    };
    const original = ConsumerGroup.prototype.joinAndSync;
    if (typeof original !== 'function') return false;
    ConsumerGroup.prototype.joinAndSync = async function joinAndSyncAfterBarrier(
      this: InternalConsumerGroup,
    ) {
      const barrier = this.memberId ? barriers.get(this.memberId) : undefined;
      if (barrier) {
        // Heartbeats keep the membership alive if this rejoin was not caused by a rebalance.
        const keepAlive = () => this.heartbeat({ interval: 0 }).catch(() => undefined);
        await barrier(keepAlive).catch(() => undefined);
      }
      return original.call(this);
    };
    return true;
  } catch {
    return false;
  }
}

/** Whether the hook is in place (installs it on first use). */
export function rejoinBarrierAvailable(): boolean {
  installed ??= install();
  return installed;
}

/** Registers the barrier of one member; returns a function that removes it. */
export function registerRejoinBarrier(memberId: string, barrier: RejoinBarrier): () => void {
  if (!rejoinBarrierAvailable()) return () => undefined;
  barriers.set(memberId, barrier);
  return () => {
    if (barriers.get(memberId) === barrier) barriers.delete(memberId);
  };
}
