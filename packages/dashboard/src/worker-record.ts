import type { CeleryEvent } from '@celeriac/core/worker';

/** What the events told about one worker. */
export interface WorkerRecord {
  readonly hostname: string;
  /** Not gone offline (a `worker-offline` event) since its last heartbeat. */
  online: boolean;
  /** When its last worker event arrived here, ms since the epoch (our clock, not the sender's). */
  lastSeen: number;
  /** Heartbeat interval in seconds. */
  freq: number;
  active: number;
  processed: number;
  /** Celeriac workers report it; Python workers do not. */
  concurrency: number | null;
  loadavg: number[];
  software: string;
  pid: number | null;
  /** Task outcomes seen in events since the dashboard started. */
  succeeded: number;
  failed: number;
}

/** A worker with no heartbeat for this many intervals is shown offline (Celery's monitors use 3). */
export const HEARTBEAT_EXPIRY_INTERVALS = 3;

/** Whether a worker counts as alive at `now`. */
export function isAlive(worker: WorkerRecord, now: number): boolean {
  return worker.online && now - worker.lastSeen <= worker.freq * 1000 * HEARTBEAT_EXPIRY_INTERVALS;
}

/** A record for a worker first seen now. */
export function newWorkerRecord(hostname: string, now: number): WorkerRecord {
  return {
    hostname,
    online: true,
    lastSeen: now,
    freq: 2,
    active: 0,
    processed: 0,
    concurrency: null,
    loadavg: [],
    software: '',
    pid: null,
    succeeded: 0,
    failed: 0,
  };
}

/** Folds a `worker-online`, `worker-heartbeat` or `worker-offline` event into the record. */
export function applyWorkerEvent(worker: WorkerRecord, event: CeleryEvent, now: number): void {
  worker.lastSeen = now;
  worker.online = event.type !== 'worker-offline';
  if (typeof event.freq === 'number' && event.freq > 0) worker.freq = event.freq;
  if (typeof event.active === 'number') worker.active = event.active;
  if (typeof event.processed === 'number') worker.processed = event.processed;
  if (typeof event.concurrency === 'number') worker.concurrency = event.concurrency;
  if (Array.isArray(event.loadavg)) worker.loadavg = event.loadavg.filter((n) => typeof n === 'number');
  if (typeof event.sw_ident === 'string')
    worker.software = [event.sw_ident, event.sw_ver].filter((s) => typeof s === 'string').join(' ');
  if (typeof event.pid === 'number') worker.pid = event.pid;
}
