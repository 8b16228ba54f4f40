/**
 * `@celeriac/dashboard`: a web dashboard for Celeriac and Celery fleets over the Celery event
 * stream, the broker and the result backend. Run `celeriac-dashboard --broker URL`, or start it
 * from code with {@link createDashboard}.
 *
 * @packageDocumentation
 */
export type { DashboardControl, RedriveOutcome, RevokeOutcome } from './actions.js';
export { type Connections, connectByUrl } from './adapters.js';
export { dashboardCommand } from './command.js';
export { createDashboard, type Dashboard, type DashboardOptions } from './dashboard.js';
export type { DeadLetterView } from './dead-letter-view.js';
export { type FleetSnapshot, FleetState, type TaskQuery, type WorkerView } from './fleet-state.js';
export type { QueueView } from './queue-monitor.js';
export type { TaskRecord, TimelineEntry } from './task-record.js';
export type { ThroughputPoint } from './throughput.js';
export type { WorkerRecord } from './worker-record.js';
