import { execFileSync } from 'node:child_process';
import { describeChaos } from './run-chaos.js';
import { redisTarget } from './target-redis.js';

/** The run starts redis-servers of its own (broker and backend): only the binary must be there. */
function redisServerInstalled(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true')
      throw new Error(
        '[celeriac:SERVICE_MISSING] redis-server is not installed; run: scripts/services up redis',
      );
    return false;
  }
}

describeChaos({
  broker: 'redis',
  adapter: '@celeriac/broker-redis',
  available: redisServerInstalled(),
  target: redisTarget,
});
