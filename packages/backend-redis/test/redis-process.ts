import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, type OwnRedisServer, startRedisServer } from '@celeriac/test-services';

/** Whether a `redis-server` binary is on PATH; under CI=true its absence is a failure. */
export function redisServerAvailable(): boolean {
  const ok = spawnSync('redis-server', ['--version']).status === 0;
  if (!ok && process.env.CI === 'true')
    throw new Error('[celeriac:SERVICE_MISSING] redis-server is not on PATH');
  return ok;
}

export { freePort };

/** A throwaway redis-server started by a test. */
export type RedisProcess = OwnRedisServer;

/** Starts `redis-server` on `port` with `args` (which must name the port), no persistence. */
export function startRedis(port: number, args: readonly string[] = []): Promise<RedisProcess> {
  return startRedisServer(port, ['--appendonly', 'no', ...args]);
}

/** A CA and a server certificate for 127.0.0.1 / localhost, made with openssl. */
export function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=celeriac-test-ca',
    '-keyout',
    path('ca.key'),
    '-out',
    path('ca.crt'),
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    path('server.key'),
    '-out',
    path('server.csr'),
  );
  writeFileSync(path('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-days',
    '1',
    '-in',
    path('server.csr'),
    '-CA',
    path('ca.crt'),
    '-CAkey',
    path('ca.key'),
    '-CAcreateserial',
    '-extfile',
    path('san.ext'),
    '-out',
    path('server.crt'),
  );
  return { ca: path('ca.crt'), cert: path('server.crt'), key: path('server.key') };
}
