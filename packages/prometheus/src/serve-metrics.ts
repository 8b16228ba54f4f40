import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/**
 * A request handler that answers with the registry in Prometheus' text format, for mounting on an
 * HTTP server the application already runs (node's `http`, or any framework that hands out node's
 * request and response).
 */
export function metricsHandler(registry: Registry): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: unknown) =>
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(error)}`),
    );
  };
}

/** Options of {@link serveMetrics}. */
export interface ServeMetricsOptions {
  readonly registry: Registry;
  /** 0 picks a free port (read it from the returned server's address). @default 9464 */
  readonly port?: number;
  /** Use `0.0.0.0` for Prometheus to scrape from another machine. @default '127.0.0.1' */
  readonly host?: string;
  /** @default '/metrics' */
  readonly path?: string;
}

/**
 * Serves the registry on `http://host:port/metrics` with a server of its own, which does not keep
 * the process alive. Resolves once it listens.
 */
export function serveMetrics(options: ServeMetricsOptions): Promise<Server> {
  const path = options.path ?? '/metrics';
  const handle = metricsHandler(options.registry);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://metrics');
    if (req.method !== 'GET' || url.pathname !== path) {
      res.writeHead(404).end();
      return;
    }
    handle(req, res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 9464, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      server.unref();
      resolve(server);
    });
  });
}

/** The port a server listens on (for `port: 0`). */
export function listeningPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}
