import { createClient } from '@celeriac/core/producer';
import { buildApp } from './app.js';
import { connections } from './connections.js';

const client = createClient(connections());
const app = buildApp(client);
app.addHook('onClose', () => client.close());
const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`listening on ${address}`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void app.close());
