import { defineConfig } from 'vitest/config';

// One run over every package; each project has its own defineProject config. Files run one at a
// time: service-backed suites restart brokers (RabbitMQ's restart test stops it for seconds) and
// time-sensitive checks (delays, heartbeats) must not fight each other for two cores.
export default defineConfig({
  test: {
    // internal/file-broker (the adapter guide's proof) runs on demand, `pnpm --filter
    // @celeriac/file-broker test`: in the full run two of its tests stalled past their timeout.
    projects: ['packages/*', 'apps/*', 'test'],
    fileParallelism: false,
  },
});
