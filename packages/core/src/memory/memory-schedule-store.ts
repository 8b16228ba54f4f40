import type { ScheduleSpec, ScheduleStore, StoredSchedule, TickClaim } from '../producer/schedule-store.js';

/**
 * Schedules in memory, for schedulers in one process. Every method runs to completion before the
 * next, so the tick claim is atomic. Schedules are copied in and out through JSON, as a remote
 * store would, so callers never share objects.
 */
export class MemoryScheduleStore implements ScheduleStore {
  private readonly schedules = new Map<string, string>();
  private version = 0;

  private read(id: string): StoredSchedule | undefined {
    const json = this.schedules.get(id);
    return json === undefined ? undefined : (JSON.parse(json) as StoredSchedule);
  }

  async upsertSchedule(spec: ScheduleSpec, now: number): Promise<StoredSchedule> {
    this.version += 1;
    const stored: StoredSchedule = {
      ...spec,
      revision: this.version,
      lastTickAt: this.read(spec.id)?.lastTickAt ?? now,
    };
    this.schedules.set(spec.id, JSON.stringify(stored));
    return JSON.parse(JSON.stringify(stored)) as StoredSchedule;
  }

  async removeSchedule(id: string): Promise<boolean> {
    if (!this.schedules.delete(id)) return false;
    this.version += 1;
    return true;
  }

  async listSchedules(): Promise<{ version: number; schedules: StoredSchedule[] }> {
    const schedules = [...this.schedules.keys()].map((id) => this.read(id) as StoredSchedule);
    return { version: this.version, schedules };
  }

  async schedulesVersion(): Promise<number> {
    return this.version;
  }

  async claimTick(id: string, revision: number, at: number): Promise<TickClaim> {
    const current = this.read(id);
    if (!current || current.revision !== revision) return { claimed: false, stale: true };
    if (current.lastTickAt >= at) return { claimed: false, stale: false };
    this.schedules.set(id, JSON.stringify({ ...current, lastTickAt: at }));
    return { claimed: true, previous: current.lastTickAt };
  }
}
