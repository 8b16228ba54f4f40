import { CeleriacError, type InferTaskInput } from '@celeriac/core';
import type { Client } from '@celeriac/core/producer';
import Fastify, { type FastifyInstance } from 'fastify';
import { thumbnail } from './contracts.js';

/**
 * The web app: `POST /thumbnails` enqueues a task and answers 202 with its id; `GET
 * /thumbnails/:id` reports its state, and its result once done (`?wait=ms` waits for it).
 */
export function buildApp(client: Client): FastifyInstance {
  const app = Fastify({ logger: false });

  app.post<{ Body: InferTaskInput<typeof thumbnail> }>('/thumbnails', async (request, reply) => {
    try {
      const handle = await client.enqueue(thumbnail, request.body);
      return reply.code(202).send({ id: handle.id });
    } catch (error) {
      // The contract validates the body: a bad one fails before anything is sent.
      if (CeleriacError.is(error, 'VALIDATION_FAILED')) return reply.code(400).send({ error: error.message });
      throw error;
    }
  });

  app.get<{ Params: { id: string }; Querystring: { wait?: string } }>('/thumbnails/:id', async (request) => {
    const handle = client.handle(thumbnail, request.params.id);
    const wait = Number(request.query.wait ?? 0);
    if (wait > 0)
      return { id: handle.id, state: 'SUCCESS', result: await handle.result({ timeoutMs: wait }) };
    // Without ?wait: the state as stored now (PENDING until a worker has it).
    return { id: handle.id, ...(await handle.status()) };
  });

  return app;
}
