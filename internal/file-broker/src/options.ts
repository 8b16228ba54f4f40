import { ConfigError } from '@celeriac/core/adapter';
import { parseFileUrl } from './url.js';

/** Options of {@link FileBroker}. */
export interface FileBrokerOptions {
  /** `file:///absolute/directory`, optionally with `?leaseMs=…&pollMs=…`. */
  readonly url: string;
  /**
   * How long a consumer's lease lasts without being refreshed before its held messages are given
   * to others. A consumer refreshes it four times per lease while its process runs. @default 30_000
   */
  readonly leaseMs?: number;
  /** Longest wait between two looks at the directory (changes are also watched). @default 250 */
  readonly pollMs?: number;
}

/** Options with every default applied. */
export interface ResolvedOptions {
  readonly directory: string;
  readonly leaseMs: number;
  readonly pollMs: number;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${name} must be positive, got ${value}`);
  return value;
}

/** The URL's settings, overridden by explicit options, with defaults for the rest. */
export function resolveOptions(options: FileBrokerOptions): ResolvedOptions {
  const fromUrl = parseFileUrl(options.url);
  return {
    directory: fromUrl.directory,
    leaseMs: positive('leaseMs', options.leaseMs ?? fromUrl.leaseMs ?? 30_000),
    pollMs: positive('pollMs', options.pollMs ?? fromUrl.pollMs ?? 250),
  };
}
