import { eventReceiverFromUrl } from './adapters.js';

/** A Celery event as the stream carries it (core's `CeleryEvent`; the CLI names no worker type). */
interface StreamEvent {
  readonly type: string;
  readonly hostname: string;
  readonly timestamp: number;
  readonly [field: string]: unknown;
}

/** The reading side of the event stream (core's `EventReceiver`, by shape). */
interface Receiver {
  subscribe(listener: (event: StreamEvent) => void): Promise<() => void>;
  close(): Promise<void>;
}

/** Options of `celeriac events`. */
export interface EventsFlags {
  readonly broker: string;
  /** One JSON object per line instead of a readable line. */
  readonly json?: boolean;
  /** Only events whose type starts with one of these (`task-`, `worker-heartbeat`, …). */
  readonly type?: readonly string[];
  /** Exit after this many events. */
  readonly count?: number;
}

/** Task event fields worth a glance, in the order shown. */
const SHOWN = ['uuid', 'name', 'queue', 'runtime', 'result', 'exception', 'retries', 'active', 'processed'];

const clip = (text: string) => (text.length > 120 ? `${text.slice(0, 117)}...` : text);

/** One readable line: time, host, type, then the fields that say what happened. */
export function formatEvent(event: StreamEvent): string {
  const at = Number.isFinite(event.timestamp) ? new Date(event.timestamp * 1000) : new Date();
  const fields = SHOWN.filter((k) => event[k] !== undefined && event[k] !== null).map((k) => {
    const v = event[k];
    return `${k}=${clip(typeof v === 'string' ? v : JSON.stringify(v))}`;
  });
  return [at.toISOString().slice(11, 23), event.hostname, event.type, ...fields].join(' ');
}

/**
 * `celeriac events`: tails the Celery event stream of a broker — what Celeriac workers started with
 * `--events` and Python workers started with `-E` send — one line per event, until interrupted.
 */
export async function eventsCommand(flags: EventsFlags): Promise<number> {
  const receiver = await eventReceiverFromUrl<Receiver>(flags.broker);
  const types = flags.type?.length ? flags.type : undefined;
  let seen = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const stop = await receiver.subscribe((event) => {
    if (types && !types.some((t) => event.type.startsWith(t))) return;
    console.log(flags.json ? JSON.stringify(event) : formatEvent(event));
    if (flags.count !== undefined && ++seen >= flags.count) finish();
  });
  console.error('celeriac: listening for Celery events (Ctrl-C to stop)');
  process.once('SIGINT', finish);
  process.once('SIGTERM', finish);
  await finished;
  stop();
  await receiver.close();
  return 0;
}
