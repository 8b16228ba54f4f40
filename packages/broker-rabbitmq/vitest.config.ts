import { celeriacProject } from '../../vitest.shared.js';

// One shared RabbitMQ, and some files restart it: run the files one at a time.
export default celeriacProject('broker-rabbitmq', {
  fileParallelism: false,
  testTimeout: 30_000,
  hookTimeout: 60_000,
});
