import { ConfigError } from '@celeriac/core';
import { redactUrl } from '@celeriac/core/adapter';
import type { RedisOptions } from 'ioredis';

/** What a backend URL says: how to reach the primary, how to reach a replica, and backend settings. */
export interface ParsedBackendUrl {
  /** Connection options of the primary (writes, waits). */
  readonly primary: RedisOptions;
  /** Connection options for reads when the URL asks for a replica (`readUrl=`, `readFromReplica=true`). */
  readonly replica?: RedisOptions;
  /** The URL with any password masked, for messages. */
  readonly display: string;
  readonly ttlMs?: number;
  readonly persist?: boolean;
  readonly globalKeyPrefix?: string;
  readonly batchStores?: boolean;
  readonly waitPollIntervalMs?: number;
  readonly connectionName?: string;
  /** `taskIndex=true` or `taskIndex=<max>`: workers keep an index of recent tasks. */
  readonly taskIndex?: boolean | { readonly max: number };
}

/** The URL schemes this adapter serves (without `:`), read by the CLIs to pick it by URL. */
export const backendSchemes = ['redis', 'rediss', 'redis+sentinel'] as const;
const SCHEMES = backendSchemes;
type Scheme = (typeof SCHEMES)[number];

function fail(url: string, problem: string): never {
  throw new ConfigError(`invalid Redis result backend URL "${redactUrl(url)}": ${problem}`);
}

function parseHost(url: string, text: string, defaultPort: number): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:[\]]*)(?::(\d+))?$/.exec(text);
  if (!match) fail(url, `bad host "${text}"`);
  const host = (match[1] ?? '').replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(url, `bad port in "${text}"`);
  return { host, port };
}

function parseDb(url: string, text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text)) fail(url, `database must be a number, got "${text}"`);
  return Number(text);
}

function parseBool(url: string, name: string, value: string): boolean {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  return fail(url, `${name} must be true or false, got "${value}"`);
}

function parseMs(url: string, name: string, value: string): number {
  const n = Number(value);
  if (value === '' || !Number.isFinite(n) || n < 0) fail(url, `${name} must be a number of milliseconds ≥ 0`);
  return n;
}

const BACKEND_PARAMS = [
  'ttlMs',
  'persist',
  'globalKeyPrefix',
  'batchStores',
  'waitPollIntervalMs',
  'connectionName',
  'taskIndex',
];
const CONNECTION_PARAMS: Record<Scheme, readonly string[]> = {
  redis: ['readUrl'],
  rediss: ['readUrl', 'ssl_cert_reqs'],
  'redis+sentinel': ['readFromReplica', 'sentinelUsername', 'sentinelPassword'],
};

/** Splits `scheme://userinfo@authority/path?query` without WHATWG URL, which rejects host lists. */
function split(url: string) {
  const match = /^([a-z+]+):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/i.exec(url);
  if (!match) fail(url, `expected ${SCHEMES.map((s) => `${s}://`).join(', ')}`);
  const scheme = (match[1] ?? '').toLowerCase();
  if (!(SCHEMES as readonly string[]).includes(scheme)) {
    fail(url, `unsupported scheme "${scheme}:" (use ${SCHEMES.map((s) => `${s}://`).join(', ')})`);
  }
  const authority = match[2] ?? '';
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
  const hosts = at >= 0 ? authority.slice(at + 1) : authority;
  const path = (match[3] ?? '').replace(/^\//, '');
  return { scheme: scheme as Scheme, userinfo, hosts, path, query: new URLSearchParams(match[4] ?? '') };
}

function credentials(userinfo: string | undefined): Pick<RedisOptions, 'username' | 'password'> {
  if (userinfo === undefined) return {};
  const colon = userinfo.indexOf(':');
  const username = decodeURIComponent(colon >= 0 ? userinfo.slice(0, colon) : userinfo);
  const password = colon >= 0 ? decodeURIComponent(userinfo.slice(colon + 1)) : undefined;
  // `redis://:secret@host` is the classic AUTH-only form: no username.
  return { ...(username ? { username } : {}), ...(password !== undefined ? { password } : {}) };
}

function tlsOptions(url: string, certReqs: string | null): RedisOptions['tls'] {
  if (certReqs === null || /^(cert_)?required$/i.test(certReqs)) return {};
  if (/^(cert_)?(none|optional)$/i.test(certReqs)) return { rejectUnauthorized: false };
  return fail(url, `ssl_cert_reqs must be required, optional or none, got "${certReqs}"`);
}

/**
 * Parses a backend URL.
 *
 * - `redis://[[user]:password@]host[:port][/db]`
 * - `rediss://…` the same over TLS (`ssl_cert_reqs=none` skips certificate checks, as in Celery)
 * - `redis+sentinel://[[user]:password@]s1[:26379][,s2…]/<master name>[/db]` — credentials are
 *   for the data nodes; `sentinelUsername` / `sentinelPassword` authenticate to the sentinels.
 *
 * Backend settings ride in the query: `ttlMs`, `persist`, `globalKeyPrefix`, `batchStores`,
 * `waitPollIntervalMs`, `connectionName`, `taskIndex` (`true` or the most tasks kept); plus
 * `readUrl=<url-encoded redis URL>` (a replica for reads) or, on sentinel URLs,
 * `readFromReplica=true`. Unknown parameters are a {@link ConfigError}.
 */
export function parseBackendUrl(url: string): ParsedBackendUrl {
  const { scheme, userinfo, hosts, path, query } = split(url);
  const allowed = [...BACKEND_PARAMS, ...CONNECTION_PARAMS[scheme]];
  for (const name of query.keys()) {
    if (!allowed.includes(name)) fail(url, `unknown parameter "${name}" (known: ${allowed.join(', ')})`);
  }
  let primary: RedisOptions;
  let replica: RedisOptions | undefined;
  if (scheme === 'redis+sentinel') {
    const [name, db] = path.split('/');
    if (!name) fail(url, 'the sentinel master name is missing (redis+sentinel://host:26379/<master>)');
    const sentinels = hosts.split(',').map((h) => parseHost(url, h, 26379));
    const sentinelUsername = query.get('sentinelUsername');
    const sentinelPassword = query.get('sentinelPassword');
    primary = {
      sentinels,
      name,
      role: 'master',
      ...credentials(userinfo),
      ...(parseDb(url, db) !== undefined ? { db: parseDb(url, db) } : {}),
      ...(sentinelUsername ? { sentinelUsername } : {}),
      ...(sentinelPassword ? { sentinelPassword } : {}),
    };
    const readFromReplica = query.get('readFromReplica');
    if (readFromReplica !== null && parseBool(url, 'readFromReplica', readFromReplica)) {
      replica = { ...primary, role: 'slave' };
    }
  } else {
    if (hosts.includes(','))
      fail(url, 'a host list needs redis+sentinel:// (cluster URLs are not supported)');
    if (path.includes('/')) fail(url, `bad path "/${path}" (expected /<db>)`);
    const db = parseDb(url, path);
    primary = {
      ...parseHost(url, hosts, 6379),
      ...credentials(userinfo),
      ...(db !== undefined ? { db } : {}),
      ...(scheme === 'rediss' ? { tls: tlsOptions(url, query.get('ssl_cert_reqs')) } : {}),
    };
    const readUrl = query.get('readUrl');
    if (readUrl !== null) replica = parseReplicaUrl(readUrl);
  }
  return {
    primary,
    ...(replica ? { replica } : {}),
    display: redactUrl(url),
    ...backendSettings(url, query),
  };
}

/** Parses a `readUrl`: a plain `redis://` or `rediss://` URL with no backend settings of its own. */
export function parseReplicaUrl(url: string): RedisOptions {
  const { primary, replica, display: _display, ...settings } = parseBackendUrl(url);
  if (primary.sentinels || replica) fail(url, 'a read URL must be a plain redis:// or rediss:// URL');
  const extra = Object.keys(settings);
  if (extra.length > 0) fail(url, `a read URL takes no backend settings (got ${extra.join(', ')})`);
  return primary;
}

function backendSettings(url: string, query: URLSearchParams) {
  const out: {
    ttlMs?: number;
    persist?: boolean;
    globalKeyPrefix?: string;
    batchStores?: boolean;
    waitPollIntervalMs?: number;
    connectionName?: string;
    taskIndex?: boolean | { readonly max: number };
  } = {};
  const get = (name: string) => query.get(name) ?? undefined;
  const ttlMs = get('ttlMs');
  if (ttlMs !== undefined) out.ttlMs = parseMs(url, 'ttlMs', ttlMs);
  const persist = get('persist');
  if (persist !== undefined) out.persist = parseBool(url, 'persist', persist);
  const prefix = get('globalKeyPrefix');
  if (prefix !== undefined) out.globalKeyPrefix = prefix;
  const batch = get('batchStores');
  if (batch !== undefined) out.batchStores = parseBool(url, 'batchStores', batch);
  const poll = get('waitPollIntervalMs');
  if (poll !== undefined) out.waitPollIntervalMs = parseMs(url, 'waitPollIntervalMs', poll);
  const name = get('connectionName');
  if (name !== undefined) out.connectionName = name;
  const index = get('taskIndex');
  if (index !== undefined)
    out.taskIndex = /^\d+$/.test(index) ? { max: Number(index) } : parseBool(url, 'taskIndex', index);
  return out;
}
