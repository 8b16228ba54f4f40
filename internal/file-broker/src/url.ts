import { fileURLToPath } from 'node:url';
import { ConfigError, redactUrl } from '@celeriac/core/adapter';

/** URL schemes this broker accepts: `file:///absolute/directory`. */
export const brokerSchemes = ['file'] as const;

/** What a broker URL says: the directory and optional tuning from its query. */
export interface ParsedFileUrl {
  readonly directory: string;
  readonly leaseMs?: number;
  readonly pollMs?: number;
}

const PARAMS = new Set(['leaseMs', 'pollMs']);

function positiveInt(url: string, name: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new ConfigError(`${name} must be a positive integer in ${redactUrl(url)}`);
  }
  return n;
}

/**
 * Parses `file:///dir?leaseMs=…&pollMs=…`. The host must be empty (or `localhost`): the directory
 * is always an absolute path on this machine.
 */
export function parseFileUrl(url: string): ParsedFileUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new ConfigError(`not a URL: ${redactUrl(url)}`, { cause: error });
  }
  const scheme = parsed.protocol.slice(0, -1);
  if (!(brokerSchemes as readonly string[]).includes(scheme)) {
    throw new ConfigError(`unsupported scheme ${scheme}: in ${redactUrl(url)}; expected file:`);
  }
  if (parsed.hostname !== '' && parsed.hostname !== 'localhost') {
    throw new ConfigError(`a file broker URL names a local directory, not host ${parsed.hostname}`);
  }
  let leaseMs: number | undefined;
  let pollMs: number | undefined;
  for (const [name, value] of parsed.searchParams) {
    if (!PARAMS.has(name)) throw new ConfigError(`unknown parameter ${name} in ${redactUrl(url)}`);
    if (name === 'leaseMs') leaseMs = positiveInt(url, name, value);
    else pollMs = positiveInt(url, name, value);
  }
  parsed.search = '';
  parsed.hash = '';
  const directory = fileURLToPath(parsed);
  if (directory === '/' || directory === '') {
    throw new ConfigError(`a file broker needs a directory of its own, not ${directory || 'nothing'}`);
  }
  return {
    directory,
    ...(leaseMs === undefined ? {} : { leaseMs }),
    ...(pollMs === undefined ? {} : { pollMs }),
  };
}
