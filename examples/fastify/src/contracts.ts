import { defineTask } from '@celeriac/core';
import { z } from 'zod';

/** Shared by the web app (which enqueues) and the worker (which implements). No handler here. */
export const thumbnail = defineTask({
  name: 'example.thumbnail',
  input: z.object({ url: z.url(), width: z.number().int().min(16).max(2048) }),
  output: z.object({ url: z.string(), width: z.number(), bytes: z.number() }),
  defaults: { queue: 'thumbnails', retry: { max: 3 }, timeoutMs: 30_000 },
});
