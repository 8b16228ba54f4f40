import type { Worker } from './worker.js';

/** The runtime switches of a worker's Celery event sender, as remote control uses them. */
export interface TaskEventSwitch {
  /** Whether task-* events are sent now (worker heartbeats always are). */
  readonly taskEvents: boolean;
  /** Turns task-* events on or off (Celery's `enable_events`/`disable_events`); returns whether they were on. */
  setTaskEvents(enabled: boolean): boolean;
  /** Sends a `worker-heartbeat` now (Celery's `heartbeat` command). */
  heartbeat(): void;
}

// Keyed by the worker, so a program only starts the sender and remote control finds it.
const switches = new WeakMap<Worker, TaskEventSwitch>();

/** Makes `sender` the one remote control toggles on `worker`; returns a function that detaches it. */
export function attachEventSwitch(worker: Worker, sender: TaskEventSwitch): () => void {
  switches.set(worker, sender);
  return () => {
    if (switches.get(worker) === sender) switches.delete(worker);
  };
}

/** The event sender running for `worker`, if any. */
export function eventSwitchOf(worker: Worker): TaskEventSwitch | undefined {
  return switches.get(worker);
}
