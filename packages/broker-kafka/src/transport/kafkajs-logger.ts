import { type LogEntry, logLevel } from 'kafkajs';

/**
 * kafkajs's log output, minus the error line its connection layer prints for every error
 * response: those (a partition not served yet, a rebalance in progress) are retried, and the
 * operation that finally fails reports its own error.
 */
export function kafkajsLogCreator(): (entry: LogEntry) => void {
  return ({ namespace, level, label, log }) => {
    if (level < logLevel.DEBUG && namespace === 'Connection' && log.message.startsWith('Response ')) return;
    const { message, ...extra } = log;
    const line = JSON.stringify({ level: label, logger: 'kafkajs', namespace, message, ...extra });
    if (level <= logLevel.WARN) console.error(line);
    else console.log(line);
  };
}
