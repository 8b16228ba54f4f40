import { BrokerError, CeleriacError, ConfigError } from '@celeriac/core';

/** Adapter name used in errors and logs. */
export const ADAPTER = 'rabbitmq';

/** The reply code RabbitMQ put on a channel or connection error, if any. */
export function replyCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The server's own text, e.g. `PRECONDITION_FAILED - inequivalent arg …`, or the error message. */
function serverText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return /with message "(.*)"$/s.exec(text)?.[1] ?? text;
}

/** What each argument means in this adapter's options, for the explanation of a 406. */
const ARGUMENT_HINTS: Record<string, string> = {
  'x-max-priority':
    'set maxPriority (URL ?maxPriority=N) to the existing value, or leave it unset if the queue has none',
  'x-queue-type': 'set queueType (URL ?queueType=classic|quorum) to the existing type',
  'x-delivery-limit':
    'set deliveryLimit (URL ?deliveryLimit=N) to the existing value, or leave it unset if the queue has none',
  'x-dead-letter-exchange':
    'the queue was declared with different dead-letter settings (deliveryLimit adds them on quorum queues)',
  'x-dead-letter-routing-key': 'the queue was declared with different dead-letter settings',
  'x-message-ttl':
    'a delay queue exists with a different TTL; delete the celeriac.delay.* queues of this queue',
  durable: 'Celery and Celeriac declare durable queues; the existing one is not durable',
  auto_delete: 'Celery and Celeriac declare queues without auto-delete; the existing one differs',
  type: 'Celery and Celeriac declare a direct exchange named after the queue; the existing exchange has another type',
};

/**
 * Explains a 406 PRECONDITION_FAILED from a declaration: an entity exists with other arguments.
 * RabbitMQ's text names the argument and both values; we add which option to change.
 */
export function explainPreconditionFailed(
  kind: 'queue' | 'exchange',
  name: string,
  error: unknown,
): ConfigError {
  const text = serverText(error);
  const arg = /inequivalent arg '([^']+)'/.exec(text)?.[1];
  const detail = /:\s*(received .*)$/s.exec(text)?.[1];
  const hint = arg ? ARGUMENT_HINTS[arg] : undefined;
  const what = arg ? `argument ${arg} differs${detail ? ` (${detail})` : ''}` : text;
  return new ConfigError(
    `rabbitmq: ${kind} "${name}" already exists with other settings than this broker declares: ${what}. ` +
      'Every producer and worker of a queue (Python Celery included) must declare it the same way' +
      `${hint ? `: ${hint}` : ''}; or delete the ${kind} so it is declared again.`,
    { cause: error },
  );
}

/** Turns an amqplib error into a Celeriac error, keeping it as the cause. */
export function toCeleriacError(error: unknown, doing: string): CeleriacError {
  if (CeleriacError.is(error)) return error;
  const code = replyCode(error);
  const text = serverText(error);
  if (code === 403) {
    return new ConfigError(`rabbitmq: access refused while ${doing}: ${text}`, { cause: error });
  }
  if (code === 406 || code === 404 || code === 405) {
    return new BrokerError(ADAPTER, `${doing} failed: ${text}`, false, { cause: error });
  }
  return new BrokerError(ADAPTER, `${doing} failed: ${text}`, true, { cause: error });
}

/** A refused connection, explained. */
export function describeConnectError(error: unknown, target: string): string {
  const text = error instanceof Error ? error.message : String(error);
  if (/Expected ConnectionOpenOk; got <ConnectionClose/.test(text)) {
    return `RabbitMQ at ${target} refused to open the vhost: it does not exist, or the user has no permission on it`;
  }
  return `cannot connect to ${target}: ${serverText(error)}`;
}

/** Whether a failed connection attempt means the configuration is wrong (do not retry forever). */
export function isFatalConnectError(error: unknown): boolean {
  const text = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (/ACCESS[-_]REFUSED|NOT[-_]ALLOWED/.test(text)) return true;
  // The server closed the connection instead of opening the vhost: it is missing or not permitted.
  if (/Expected ConnectionOpenOk; got <ConnectionClose/.test(text)) return true;
  if (/^Expected amqp: or amqps:/.test(text)) return true;
  // TLS verification failures will not fix themselves by retrying.
  return typeof code === 'string' && /CERT|SELF_SIGNED|ALTNAME|UNABLE_TO_(GET|VERIFY)/.test(code);
}
