import { ConfigError } from '@celeriac/core';
import { describe, expect, it } from 'vitest';
import { createResultBackend } from '../src/create-result-backend.js';
import { parseBackendUrl } from '../src/url.js';

describe('parseBackendUrl', () => {
  it('reads host, port, credentials and db of redis://', () => {
    expect(parseBackendUrl('redis://user:p%40ss@10.0.0.5:6390/3').primary).toEqual({
      host: '10.0.0.5',
      port: 6390,
      username: 'user',
      password: 'p@ss',
      db: 3,
    });
    expect(parseBackendUrl('redis://:secret@localhost').primary).toEqual({
      host: 'localhost',
      port: 6379,
      password: 'secret',
    });
    expect(parseBackendUrl('redis://[::1]:7000').primary).toEqual({ host: '::1', port: 7000 });
  });

  it('turns on TLS for rediss://, honouring Celery’s ssl_cert_reqs', () => {
    expect(parseBackendUrl('rediss://h:6380').primary.tls).toEqual({});
    expect(parseBackendUrl('rediss://h?ssl_cert_reqs=CERT_NONE').primary.tls).toEqual({
      rejectUnauthorized: false,
    });
    expect(parseBackendUrl('redis://h').primary.tls).toBeUndefined();
  });

  it('reads sentinels, master name, db and sentinel credentials of redis+sentinel://', () => {
    const parsed = parseBackendUrl(
      'redis+sentinel://:pw@s1:26379,s2/mymaster/2?sentinelPassword=sp&readFromReplica=true',
    );
    expect(parsed.primary).toEqual({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      name: 'mymaster',
      role: 'master',
      password: 'pw',
      db: 2,
      sentinelPassword: 'sp',
    });
    expect(parsed.replica?.role).toBe('slave');
    expect(parsed.replica?.sentinels).toHaveLength(2);
  });

  it('reads backend settings and a replica URL from the query', () => {
    const parsed = parseBackendUrl(
      `redis://h/0?ttlMs=60000&persist=false&globalKeyPrefix=t1&batchStores=off&waitPollIntervalMs=1000&connectionName=api&readUrl=${encodeURIComponent('redis://:pw@replica:6380/0')}`,
    );
    expect(parsed).toMatchObject({
      ttlMs: 60_000,
      persist: false,
      globalKeyPrefix: 't1',
      batchStores: false,
      waitPollIntervalMs: 1000,
      connectionName: 'api',
      replica: { host: 'replica', port: 6380, password: 'pw', db: 0 },
    });
  });

  it.each([
    ['amqp://h', 'unsupported scheme'],
    ['not a url', 'expected redis://'],
    ['redis://h/abc', 'database must be a number'],
    ['redis://h:99999', 'bad port'],
    ['redis://a:1,b:2', 'host list needs redis+sentinel'],
    ['redis+sentinel://s1:26379', 'master name is missing'],
    ['redis://h?ttl=5', 'unknown parameter "ttl"'],
    ['redis://h?ttlMs=-1', 'ttlMs must be'],
    ['redis://h?persist=maybe', 'persist must be true or false'],
    ['redis://h?readUrl=redis%3A%2F%2Fr%3Fpersist%3Dtrue', 'takes no backend settings'],
  ])('rejects %s with a ConfigError', (url, problem) => {
    expect(() => parseBackendUrl(url)).toThrow(ConfigError);
    expect(() => parseBackendUrl(url)).toThrow(problem);
  });

  it('masks passwords in messages', () => {
    expect(parseBackendUrl('redis://u:hunter2@h:6379/0').display).toBe('redis://u:***@h:6379/0');
    expect(parseBackendUrl('redis+sentinel://s1/mymaster?sentinelPassword=sp').display).toBe(
      'redis+sentinel://s1/mymaster?sentinelPassword=***',
    );
    expect(() => parseBackendUrl('redis://u:hunter2@h/x')).toThrow(/u:\*\*\*@h/);
  });

  it('createResultBackend rejects an unknown scheme without connecting', () => {
    expect(() => createResultBackend('memcached://h')).toThrow(ConfigError);
  });
});
