import type { ChaosConfig } from './chaos-config.js';
import type { WorkerFleet } from './fleet.js';
import type { FaultWindow, ScenarioName } from './results.js';
import { type ChaosTarget, freeze } from './target.js';

/** What a fault needs from the run. */
export interface FaultContext {
  readonly target: ChaosTarget;
  readonly fleet: WorkerFleet;
  readonly config: ChaosConfig;
  /** Resolves once this share of the scenario's tasks has a final state. */
  progress(share: number): Promise<void>;
}

/** A scenario: its name, the fault in words, and the fault itself (returning when it struck). */
export interface Scenario {
  readonly name: ScenarioName;
  describe(config: ChaosConfig, target: ChaosTarget): string;
  strike(ctx: FaultContext): Promise<FaultWindow[]>;
}

/** `count` points spread over the middle of a run (10 % to 70 % done), so faults hit running work. */
function spread(count: number): number[] {
  if (count <= 1) return [0.2];
  return Array.from({ length: count }, (_, i) => 0.1 + (0.6 * i) / (count - 1));
}

/** Runs `fault` at each point of progress and records its window. */
async function repeatAt(
  ctx: FaultContext,
  count: number,
  fault: () => Promise<number | undefined>,
): Promise<FaultWindow[]> {
  const windows: FaultWindow[] = [];
  for (const share of spread(count)) {
    await ctx.progress(share);
    const start = Date.now();
    const end = (await fault()) ?? Date.now();
    windows.push({ start, end });
  }
  return windows;
}

const times = (n: number) => `${n} ×`;

export const scenarios: readonly Scenario[] = [
  {
    name: 'kill-9',
    describe: (c) => `${times(c.kills)} SIGKILL of a worker mid-run, each replaced`,
    // The fault is over once the process is gone; starting its replacement is part of recovering.
    strike: (ctx) =>
      repeatAt(ctx, ctx.config.kills, async () => {
        await ctx.fleet.killOne();
        const gone = Date.now();
        await ctx.fleet.grow(1);
        return gone;
      }),
  },
  {
    name: 'broker-restart',
    describe: (c, t) => `${times(c.repeats)} restart with persistence: ${t.restartHow}`,
    strike: (ctx) => repeatAt(ctx, ctx.config.repeats, () => ctx.target.restart()),
  },
  {
    name: 'broker-pause',
    describe: (c, t) =>
      `${times(c.repeats)} SIGSTOP of the broker process for ${t.pauseMs / 1000} s (past the clients' heartbeat timeouts), then SIGCONT`,
    strike: (ctx) =>
      repeatAt(ctx, ctx.config.repeats, async () => {
        await freeze(await ctx.target.serverPid(), ctx.target.pauseMs);
        return undefined;
      }),
  },
  {
    name: 'mass-sigterm',
    describe: (c) =>
      `${times(c.repeats)} SIGTERM to all ${c.workers} workers at once (graceful stop), then a new fleet`,
    // As for kill -9: over once the old fleet is gone; the new one starting is part of recovering.
    strike: (ctx) =>
      repeatAt(ctx, ctx.config.repeats, async () => {
        await ctx.fleet.terminateAll();
        const gone = Date.now();
        await ctx.fleet.grow(ctx.config.workers);
        return gone;
      }),
  },
];
