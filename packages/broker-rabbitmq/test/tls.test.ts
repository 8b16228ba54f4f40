import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { createServer, type Server } from 'node:tls';
import { ConfigError } from '@celeriac/core';
import { createTaskMessage, type Delivery } from '@celeriac/core/adapter';
import { requireService } from '@celeriac/test-services';
import { uniqueName, waitFor } from '@celeriac/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AMQP_URL, BrokerFactory } from './support.js';

const up = await requireService('rabbitmq', AMQP_URL);
const fixture = (name: string) => readFile(new URL(`./fixtures/${name}`, import.meta.url));

/**
 * amqps:// end to end: a TLS terminator in front of the plain RabbitMQ listener (our test node has
 * no TLS listener), with a self-signed certificate for localhost.
 */
describe.skipIf(!up)('rabbitmq over TLS (amqps://)', () => {
  const brokers = new BrokerFactory();
  const target = new URL(AMQP_URL);
  const sockets = new Set<Socket>();
  let server: Server;
  let ca: Buffer;
  let port = 0;

  beforeAll(async () => {
    ca = await fixture('tls-cert.pem');
    server = createServer({ key: await fixture('tls-key.pem'), cert: ca }, (tlsSocket) => {
      const plain = connect(Number(target.port || 5672), target.hostname);
      sockets.add(plain).add(tlsSocket);
      tlsSocket.pipe(plain).pipe(tlsSocket);
      const end = () => {
        plain.destroy();
        tlsSocket.destroy();
      };
      plain.on('error', end).on('close', end);
      tlsSocket.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await brokers.cleanup();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const url = () => `amqps://${target.username}:${target.password}@localhost:${port}/`;

  it('publishes and consumes through TLS, with the CA given in socketOptions', async () => {
    const broker = brokers.create({ url: url(), socketOptions: { ca } });
    const queue = uniqueName('tls');
    const got: Delivery[] = [];
    await broker.consume({ queues: [queue], prefetch: 1, onDelivery: (d) => got.push(d) });
    const message = createTaskMessage({ task: 'tasks.secure' });
    await broker.publish({ queue, message });
    const d = await waitFor(() => got[0], { what: 'delivery over TLS' });
    expect(d.kind === 'task' && d.message.headers.id).toBe(message.headers.id);
    await d.ack();
  });

  it('refuses an untrusted certificate with a ConfigError instead of retrying forever', async () => {
    const broker = brokers.create({ url: url() });
    const error = await broker.depth('q').catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/self[- ]signed/i);
  });
});
