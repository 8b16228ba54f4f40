import { defineConfig } from 'vitest/config';

// One run over every package; each project has its own defineProject config. Files run one at a
// time: service-backed suites restart brokers (RabbitMQ's restart test stops it for seconds) and
// time-sensitive checks (delays, heartbeats) must not fight each other for two cores.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'internal/file-broker', 'test'],
    fileParallelism: false,
  },
});
