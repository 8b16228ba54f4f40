import { connect } from 'node:net';

/** Resolves true when something accepts TCP connections at `host:port` within `timeoutMs`. */
export function probeTcp(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const DEFAULT_PORTS: Record<string, number> = {
  'redis:': 6379,
  'rediss:': 6379,
  'amqp:': 5672,
  'amqps:': 5671,
  'kafka:': 9092,
};

/** Every `host:port` named by a URL or a comma-separated broker list. */
function endpoints(url: string): { host: string; port: number }[] {
  const scheme = /^[a-z+]+:/i.exec(url)?.[0] ?? '';
  const rest = scheme ? url.slice(scheme.length).replace(/^\/\//, '') : url;
  const authority = (rest.split(/[/?]/)[0] ?? '').replace(/^.*@/, '');
  const base = scheme.split('+')[0] === 'rediss' ? 'rediss:' : `${scheme.split('+')[0]?.replace(/:$/, '')}:`;
  return authority
    .split(',')
    .filter(Boolean)
    .map((hp) => {
      const [host, port] = hp.split(':');
      return { host: host || '127.0.0.1', port: Number(port) || DEFAULT_PORTS[base] || 0 };
    });
}

/**
 * Checks that a service is reachable before a service-backed suite runs. Locally a missing
 * service makes the suite skip (visibly); under `CI=true` it throws, so the test run fails.
 *
 * @example
 * ```ts
 * const up = await requireService('redis', process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379');
 * describe.skipIf(!up)('redis broker', () => { … });
 * ```
 */
export async function requireService(name: string, url: string): Promise<boolean> {
  const targets = endpoints(url);
  const results = await Promise.all(targets.map((t) => probeTcp(t.host, t.port)));
  const ok = targets.length > 0 && results.every(Boolean);
  if (!ok && process.env.CI === 'true') {
    throw new Error(
      `[celeriac:SERVICE_MISSING] ${name} is not reachable at ${url}; start it with: scripts/services up ${name}`,
    );
  }
  return ok;
}
