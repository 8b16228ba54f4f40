import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerError, ConfigError, TaskState } from '@celeriac/core';
import { buildMeta } from '@celeriac/core/adapter';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisResultBackend } from '../src/index.js';
import { backend, closeAll } from './helpers.js';
import {
  freePort,
  makeCertificates,
  type RedisProcess,
  redisServerAvailable,
  startRedis,
} from './redis-process.js';

const canSpawn = redisServerAvailable();

/** Stores, waits and reads one result: the whole path works over this connection. */
async function roundTrip(b: RedisResultBackend): Promise<void> {
  const id = randomUUID();
  const waiting = b.wait(id, { timeoutMs: 10_000 });
  await b.store(buildMeta(TaskState.SUCCESS, id, { secure: true }));
  expect((await waiting).result).toEqual({ secure: true });
  expect((await b.get(id))?.result).toEqual({ secure: true });
}

describe.skipIf(!canSpawn)('TLS (rediss://) and AUTH from the URL', () => {
  let server: RedisProcess;
  let certDir: string;
  let ca: Buffer;
  let port: number;

  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'celeriac-tls-'));
    const certs = makeCertificates(certDir);
    ca = readFileSync(certs.ca);
    port = await freePort();
    server = await startRedis(port, [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--tls-cert-file',
      certs.cert,
      '--tls-key-file',
      certs.key,
      '--tls-ca-cert-file',
      certs.ca,
      '--tls-auth-clients',
      'no',
      '--requirepass',
      'sesame',
      // One ACL rule per argument: redis-server joins them into one config line.
      ...['--user', 'alice', 'on', '>wonderland', '~*', '&*', '+@all'],
      ...['--user', 'reader', 'on', '>books', '~*', '&*', '+@read', '+@connection', '+info'],
    ]);
  });
  afterEach(closeAll);
  afterAll(async () => {
    await closeAll();
    await server?.stop();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  it('connects with a password and a trusted CA', async () => {
    await roundTrip(backend({ url: `rediss://:sesame@127.0.0.1:${port}/0`, redisOptions: { tls: { ca } } }));
  });

  it('connects as an ACL user (username and password in the URL)', async () => {
    await roundTrip(
      backend({ url: `rediss://alice:wonderland@127.0.0.1:${port}`, redisOptions: { tls: { ca } } }),
    );
  });

  it('skips certificate checks with ssl_cert_reqs=none, as Celery URLs do', async () => {
    await roundTrip(backend({ url: `rediss://:sesame@127.0.0.1:${port}?ssl_cert_reqs=none` }));
  });

  it('fails with a retriable BrokerError labelled as the result backend on an untrusted certificate', async () => {
    const untrusted = backend({
      url: `rediss://:sesame@127.0.0.1:${port}`,
      redisOptions: { maxRetriesPerRequest: 1 },
    });
    const error = await untrusted.get(randomUUID()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).adapter).toBe('redis result backend');
    expect((error as BrokerError).retriable).toBe(true);
    expect((error as BrokerError).message).toContain('redis result backend: get failed');
  });

  it('fails with a ConfigError on a wrong password, as the broker does', async () => {
    const wrong = backend({
      url: `rediss://:nope@127.0.0.1:${port}`,
      redisOptions: { tls: { ca }, maxRetriesPerRequest: 1 },
    });
    const error = await wrong.get(randomUUID()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('CONFIG_INVALID');
    expect((error as ConfigError).retriable).toBe(false);
    expect((error as ConfigError).message).toMatch(/authentication or permission failed.*(NOAUTH|WRONGPASS)/);
    const stored = await wrong.store(buildMeta(TaskState.SUCCESS, randomUUID(), 1)).catch((e: unknown) => e);
    expect(stored).toBeInstanceOf(ConfigError);
  });

  it('fails with a ConfigError when an ACL user lacks a permission', async () => {
    const readOnly = backend({
      url: `rediss://reader:books@127.0.0.1:${port}`,
      redisOptions: { tls: { ca }, maxRetriesPerRequest: 1 },
    });
    const error = await readOnly.forget(randomUUID()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/NOPERM/);
  });
});
