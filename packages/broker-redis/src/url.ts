import { ConfigError } from '@celeriac/core';
import { redactUrl, redisTarget } from '@celeriac/core/adapter';
import type { RedisOptions } from 'ioredis';

/** A Redis deployment to connect to, as parsed from a URL. */
export type RedisTarget =
  | { readonly kind: 'single'; readonly options: RedisOptions }
  | { readonly kind: 'sentinel'; readonly options: RedisOptions }
  | {
      readonly kind: 'cluster';
      readonly nodes: readonly { readonly host: string; readonly port: number }[];
      readonly options: RedisOptions;
    };

/** A parsed URL: where to connect, and a printable form with the password hidden. */
export interface ParsedRedisUrl {
  readonly target: RedisTarget;
  readonly display: string;
}

/** The URL schemes this adapter serves (without `:`), read by the CLIs to pick it by URL. */
export const brokerSchemes = [
  'redis',
  'rediss',
  'redis+sentinel',
  'rediss+sentinel',
  'redis+cluster',
  'rediss+cluster',
] as const;
const SCHEMES: readonly string[] = brokerSchemes;
const URL_SHAPE = /^([a-z+]+):\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i;

function hosts(authority: string, defaultPort: number, url: string): { host: string; port: number }[] {
  const list = authority.split(',').filter(Boolean);
  if (list.length === 0) return [{ host: '127.0.0.1', port: defaultPort }];
  return list.map((item) => {
    const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(item);
    if (!m) throw new ConfigError(`invalid host "${item}" in Redis URL ${redactUrl(url)}`);
    return { host: m[1] ?? (m[2] || '127.0.0.1'), port: m[3] ? Number(m[3]) : defaultPort };
  });
}

function database(segment: string | undefined, url: string): number | undefined {
  if (segment === undefined || segment === '') return undefined;
  if (!/^\d+$/.test(segment))
    throw new ConfigError(`invalid database "${segment}" in Redis URL ${redactUrl(url)}`);
  return Number(segment);
}

const QUERY_PARAMS = ['ssl_cert_reqs', 'sentinelPassword', 'sentinelUsername'];

/** Celery's `ssl_cert_reqs`: `required` (default) checks the server certificate, `none` does not. */
function tlsOptions(certReqs: string | null, display: string): { rejectUnauthorized?: boolean } {
  const value = certReqs?.toLowerCase().replace(/^cert_/, '');
  if (value === undefined || value === 'required') return {};
  if (value === 'none' || value === 'optional') return { rejectUnauthorized: false };
  throw new ConfigError(
    `invalid ssl_cert_reqs "${certReqs}" in Redis URL ${display} (required, optional or none)`,
  );
}

/**
 * Parses `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS),
 * `redis+sentinel://[user:pass@]h1:26379[,h2:26379]/<master>[/db]` and
 * `redis+cluster://[user:pass@]h1:7000[,h2:7001…]` (each also as `rediss+…` for TLS).
 * Query parameters: `ssl_cert_reqs=required|optional|none` (as in Celery URLs; `none` skips the
 * certificate check), and `sentinelUsername` / `sentinelPassword` when the sentinels need auth.
 */
export function parseRedisUrl(url: string): ParsedRedisUrl {
  const display = redactUrl(url);
  const m = URL_SHAPE.exec(url.trim());
  const scheme = m?.[1]?.toLowerCase();
  if (!m || !scheme || !SCHEMES.includes(scheme)) {
    throw new ConfigError(
      `not a Redis URL: ${display} (expected one of ${SCHEMES.map((s) => `${s}://`).join(', ')})`,
    );
  }
  const [, , userinfo, authority = '', path = '', query = ''] = m;
  const params = new URLSearchParams(query);
  const auth: RedisOptions = {};
  if (userinfo) {
    const colon = userinfo.indexOf(':');
    const user = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
    const pass = colon < 0 ? '' : decodeURIComponent(userinfo.slice(colon + 1));
    // `redis://secret@host` means a password with no user, as redis-cli and ioredis read it.
    if (colon < 0) auth.password = user;
    else {
      if (user) auth.username = user;
      if (pass) auth.password = pass;
    }
  }
  for (const key of params.keys()) {
    if (!QUERY_PARAMS.includes(key)) {
      throw new ConfigError(
        `unknown parameter "${key}" in Redis URL ${display} (known: ${QUERY_PARAMS.join(', ')})`,
      );
    }
  }
  const tlsSettings = scheme.startsWith('rediss')
    ? tlsOptions(params.get('ssl_cert_reqs'), display)
    : undefined;
  const tls = tlsSettings ? { tls: tlsSettings } : {};
  const segments = path.split('/').filter(Boolean);
  if (scheme.endsWith('+sentinel')) {
    const name = segments[0] ? decodeURIComponent(segments[0]) : undefined;
    if (!name) throw new ConfigError(`Redis Sentinel URL needs a master name: ${display} (…/mymaster)`);
    const sentinelPassword = params.get('sentinelPassword') ?? undefined;
    const sentinelUsername = params.get('sentinelUsername') ?? undefined;
    const db = database(segments[1], url);
    const options: RedisOptions = {
      ...auth,
      ...tls,
      sentinels: hosts(authority, 26379, url),
      name,
      ...(db === undefined ? {} : { db }),
      ...(sentinelPassword ? { sentinelPassword } : {}),
      ...(sentinelUsername ? { sentinelUsername } : {}),
      ...(tlsSettings ? { enableTLSForSentinelMode: true, sentinelTLS: tlsSettings } : {}),
    };
    return { target: { kind: 'sentinel', options }, display };
  }
  if (scheme.endsWith('+cluster')) {
    if (segments.length > 0 && segments[0] !== '0') {
      throw new ConfigError(`Redis Cluster has only database 0: ${display}`);
    }
    return {
      target: { kind: 'cluster', nodes: hosts(authority, 6379, url), options: { ...auth, ...tls } },
      display,
    };
  }
  if (authority.includes(','))
    throw new ConfigError(`several hosts need redis+cluster:// or redis+sentinel://: ${display}`);
  const [node] = hosts(authority, 6379, url);
  const db = database(segments[0], url);
  const options: RedisOptions = {
    ...auth,
    ...tls,
    host: node?.host,
    port: node?.port,
    ...(db === undefined ? {} : { db }),
  };
  return { target: { kind: 'single', options }, display };
}

/**
 * The server a broker settles on, as a backend's `CarriedStore` names it: a single server only
 * (Cluster spreads keys over slots, Sentinel's primary may move).
 */
export function carryTargetOf(target: RedisTarget, extra: RedisOptions | undefined): string | undefined {
  return target.kind === 'single' ? redisTarget({ ...target.options, ...extra }) : undefined;
}
