import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBroker } from '../src/index.js';
import { fastRecovery } from './helpers.js';
import { freePort, type OwnRedis, startRedis } from './redis-server.js';

function hasTools(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A throwaway CA and a server certificate for 127.0.0.1, made with openssl. */
function makeCertificates(dir: string): void {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=celeriac-test-ca',
  );
  run(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  );
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  run(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  );
}

describe.skipIf(!hasTools())('TLS (rediss://)', () => {
  let dir = '';
  let server: OwnRedis | undefined;
  let port = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'celeriac-tls-'));
    makeCertificates(dir);
    port = await freePort();
    server = await startRedis(
      [
        '--tls-port',
        String(port),
        '--tls-cert-file',
        join(dir, 'server.crt'),
        '--tls-key-file',
        join(dir, 'server.key'),
        '--tls-ca-cert-file',
        join(dir, 'ca.crt'),
        '--tls-auth-clients',
        'no',
      ],
      { port: await freePort() },
    );
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes and consumes over TLS, checking the server certificate', async () => {
    const broker = new RedisBroker({
      url: `rediss://127.0.0.1:${port}`,
      redis: { tls: { ca: readFileSync(join(dir, 'ca.crt')) } },
      ...fastRecovery,
    });
    const queue = uniqueName('tls');
    const got: Delivery[] = [];
    await broker.consume({ queues: [queue], prefetch: 1, onDelivery: (d) => got.push(d) });
    const message = createTaskMessage({ task: 'tasks.secure' });
    await broker.publish({ queue, message });
    const d = await waitFor(() => got[0], { what: 'delivery over TLS' });
    expect(d.kind === 'task' && d.message.headers.id).toBe(message.headers.id);
    await d.ack();
    await broker.close();
  });

  it('skips the certificate check with ssl_cert_reqs=none, as Celery URLs do', async () => {
    const broker = new RedisBroker({ url: `rediss://127.0.0.1:${port}?ssl_cert_reqs=none` });
    expect(await broker.depth(uniqueName('tls'))).toBe(0);
    await broker.close();
  });

  it('refuses a server whose certificate it cannot verify', async () => {
    const broker = new RedisBroker({
      url: `rediss://127.0.0.1:${port}`,
      redis: { retryStrategy: () => null },
    });
    const error = await broker.depth('q').catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/certificate/i);
    await broker.close();
  });
});
