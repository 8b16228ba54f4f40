import { implement } from '@celeriac/core/worker';
import { thumbnail } from './contracts.js';

/** The worker's side: a stand-in for real image work, with a size derived from the input. */
export const tasks = [
  implement(thumbnail, async ({ url, width }, ctx) => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    ctx.signal.throwIfAborted();
    return { url: `${url}?w=${width}`, width, bytes: width * width * 3 };
  }),
];
