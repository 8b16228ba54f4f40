import { describe, expect, it } from 'vitest';
import { cliPath, demoContractsPath, demoPath, demoTasksPath, runCli, startCli } from './cli-helpers.js';

describe('CLIs on the in-memory default', () => {
  it('runs the demo: typed tasks, a retried failure, a timeout and a delayed task', async () => {
    const { code, stdout } = await runCli(demoPath(), ['--count', '100']);
    expect(code).toBe(0);
    expect(stdout).toContain('by state: SUCCESS=121 FAILURE=2');
    expect(stdout).toMatch(/demo\.fail .*FAILURE Error: flaky upstream/);
    expect(stdout).toMatch(/TimeLimitExceeded/);
    expect(stdout).toMatch(/delayed add \(500 ms\): 42 after \d+ ms/);
    expect(stdout).toMatch(/latency enqueue→result \(successes\): p50 [\d.]+ ms, p99 [\d.]+ ms/);
  });

  it('starts a worker that logs one ready line and stops cleanly on SIGTERM', async () => {
    const port = 19_000 + (process.pid % 1000);
    const worker = startCli(cliPath('worker'), [
      '--tasks',
      demoTasksPath(),
      '--broker',
      'memory://',
      '--concurrency',
      '4',
      '--metrics-port',
      String(port),
    ]);
    await worker.waitFor('celeriac worker ready');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain('celeriac_worker_concurrency 4');
    expect(metrics).toContain('celeriac_queue_depth{queue="celery"} 0');
    const ready = worker
      .output()
      .split('\n')
      .filter((l) => l.includes('celeriac worker ready'));
    expect(ready).toHaveLength(1);
    expect(JSON.parse(ready[0] as string)).toMatchObject({
      concurrency: 4,
      tasks: ['demo.add', 'demo.echo', 'demo.sleep', 'demo.fail'],
    });
    worker.child.kill('SIGTERM');
    expect(await worker.exited()).toBe(0);
    expect(worker.output()).toContain('celeriac worker stopped');
  });

  it('names the supported schemes for an unknown broker URL', async () => {
    const { code, stderr } = await runCli(cliPath('cli'), [
      '--broker',
      'nats://x',
      'enqueue',
      'demo.add',
      '{"x":1,"y":2}',
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain('CONFIG_INVALID');
    expect(stderr).toContain('redis://');
    expect(stderr).toContain('amqp://');
  });

  it('refuses invalid input with a ValidationError before publishing', async () => {
    const { code, stderr, stdout } = await runCli(cliPath('cli'), [
      '--broker',
      'memory://',
      'enqueue',
      'demo.add',
      '{"x":"no","y":1}',
      '--contracts',
      demoContractsPath(),
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain('[celeriac:VALIDATION_FAILED] invalid input for task demo.add: x:');
    expect(stdout).toBe('');
  });

  it('rejects input that is not JSON with a clear message', async () => {
    const { code, stderr } = await runCli(cliPath('cli'), [
      '--broker',
      'memory://',
      'enqueue',
      'demo.add',
      '{x:1',
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain('input is not valid JSON');
  });

  it('prints one id per task with --count', async () => {
    const { code, stdout } = await runCli(cliPath('cli'), [
      '--broker',
      'memory://',
      'enqueue',
      'demo.add',
      '{"x":1,"y":2}',
      '--count',
      '25',
      '--batch',
      '10',
    ]);
    expect(code).toBe(0);
    const ids = stdout.trim().split('\n');
    expect(ids).toHaveLength(25);
    expect(new Set(ids).size).toBe(25);
    expect(ids.every((id) => /^[0-9a-f-]{36}$/.test(id))).toBe(true);
  });
});
