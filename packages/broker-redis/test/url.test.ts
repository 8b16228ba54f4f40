import { ConfigError } from '@celeriac/core';
import { describe, expect, it } from 'vitest';
import { createBroker, parseRedisUrl, RedisBroker } from '../src/index.js';

describe('Redis URLs', () => {
  it('parses a single server with user, password and database', () => {
    const { target, display } = parseRedisUrl('redis://worker:p%40ss@cache.local:6380/3');
    expect(target).toEqual({
      kind: 'single',
      options: { username: 'worker', password: 'p@ss', host: 'cache.local', port: 6380, db: 3 },
    });
    expect(display).toBe('redis://worker:***@cache.local:6380/3');
  });

  it('reads a bare userinfo as a password and defaults host and port', () => {
    expect(parseRedisUrl('redis://s3cret@').target).toEqual({
      kind: 'single',
      options: { password: 's3cret', host: '127.0.0.1', port: 6379 },
    });
    expect(parseRedisUrl('redis://').target).toMatchObject({ options: { host: '127.0.0.1', port: 6379 } });
  });

  it('turns on TLS for rediss://', () => {
    expect(parseRedisUrl('rediss://h:6390').target).toMatchObject({
      kind: 'single',
      options: { tls: {}, port: 6390 },
    });
  });

  it("reads Celery's ssl_cert_reqs", () => {
    expect(parseRedisUrl('rediss://h?ssl_cert_reqs=none').target).toMatchObject({
      options: { tls: { rejectUnauthorized: false } },
    });
    expect(parseRedisUrl('rediss://h?ssl_cert_reqs=CERT_REQUIRED').target).toMatchObject({
      options: { tls: {} },
    });
  });

  it('parses Sentinel: sentinels, master name, database, sentinel password', () => {
    const { target } = parseRedisUrl(
      'redis+sentinel://:pw@s1:26379,[::1]:26380/mymaster/2?sentinelPassword=sp',
    );
    expect(target).toEqual({
      kind: 'sentinel',
      options: {
        password: 'pw',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: '::1', port: 26380 },
        ],
        name: 'mymaster',
        db: 2,
        sentinelPassword: 'sp',
      },
    });
  });

  it('parses Cluster seed nodes', () => {
    expect(parseRedisUrl('rediss+cluster://u:p@h1:7000,h2').target).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'h1', port: 7000 },
        { host: 'h2', port: 6379 },
      ],
      options: { username: 'u', password: 'p', tls: {} },
    });
  });

  it.each([
    ['amqp://guest@h', /not a Redis URL/],
    ['redis+sentinel://h:26379', /master name/],
    ['redis+cluster://h:7000/1', /only database 0/],
    ['redis://h1,h2', /redis\+cluster/],
    ['redis://h/abc', /invalid database/],
    ['redis://:hunter2@h:notaport', /invalid host/],
    ['redis://h?ttlMs=5', /unknown parameter/],
    ['rediss://h?ssl_cert_reqs=maybe', /ssl_cert_reqs/],
  ])('rejects %s with a ConfigError', (url, message) => {
    let error: unknown;
    try {
      parseRedisUrl(url);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('createBroker builds a RedisBroker, and refuses other schemes', () => {
    const broker = createBroker('redis://127.0.0.1:6379');
    expect(broker).toBeInstanceOf(RedisBroker);
    expect(broker.name).toBe('redis');
    expect(() => createBroker('kafka://h:9092')).toThrow(ConfigError);
  });

  it('rejects timings that would take live consumers for dead', () => {
    expect(() => new RedisBroker({ heartbeatIntervalMs: 5000, consumerTimeoutMs: 6000 })).toThrow(
      ConfigError,
    );
    expect(() => new RedisBroker({ heartbeatIntervalMs: 5000, visibilityTimeoutSeconds: 5 })).toThrow(
      ConfigError,
    );
    expect(() => new RedisBroker({ maxDeliveries: 0 })).toThrow(ConfigError);
  });
});
