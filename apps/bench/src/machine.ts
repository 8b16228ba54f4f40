import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { BenchConfig } from './config.js';
import { openRedis, redisVersion } from './redis-tools.js';

/** Facts about the machine and the software a run measured. */
export type MachineFacts = Readonly<Record<string, string>>;

const run = promisify(execFile);
const require = createRequire(import.meta.url);

async function packageVersion(name: string): Promise<string> {
  try {
    return (
      JSON.parse(await readFile(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }
    ).version;
  } catch {}
  try {
    let dir = dirname(require.resolve(name));
    for (let i = 0; i < 5; i++) {
      try {
        const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
          name?: string;
          version?: string;
        };
        if (pkg.name === name) return pkg.version ?? 'unknown';
      } catch {}
      dir = dirname(dir);
    }
  } catch {}
  return 'unknown';
}

async function cpuModel(): Promise<string> {
  try {
    const info = await readFile('/proc/cpuinfo', 'utf8');
    const m = /model name\s*:\s*(.+)/.exec(info);
    if (m?.[1]) return m[1].trim();
  } catch {}
  return cpus()[0]?.model ?? 'unknown';
}

async function settle(p: Promise<string>): Promise<string> {
  try {
    return await p;
  } catch (error) {
    return `unknown (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
  }
}

async function rabbitVersion(url: string): Promise<string> {
  const amqp = await import('amqplib');
  const c = await amqp.connect(url);
  try {
    return String(c.connection.serverProperties.version ?? 'unknown');
  } finally {
    await c.close();
  }
}

async function kafkaVersion(): Promise<string> {
  // Kafka has no "version" request; the services script reports the version it runs.
  const status = process.env.CELERIAC_BENCH_SERVICES_STATUS ?? '';
  return /Kafka ([0-9][^\s),]*)/.exec(status)?.[1] ?? 'unknown';
}

async function python(py: string, code: string): Promise<string> {
  if (!py) throw new Error('no Celery virtualenv');
  const { stdout } = await run(py, ['-c', code]);
  return stdout.trim();
}

/** Collects CPU, memory, runtime and service versions for the report. */
export async function machineFacts(config: BenchConfig): Promise<MachineFacts> {
  const redis = openRedis(config.redisUrl);
  try {
    const [cpu, rv, rmq, kv, py, celery, bull, bee, ioredis, amqplib, kafkajs, core] = await Promise.all([
      cpuModel(),
      settle(redisVersion(redis)),
      settle(rabbitVersion(config.amqpUrl)),
      kafkaVersion(),
      settle(python(config.celeryPython, 'import platform; print(platform.python_version())')),
      settle(
        python(
          config.celeryPython,
          'import celery, kombu; print(celery.__version__, "(kombu", kombu.__version__ + ")")',
        ),
      ),
      packageVersion('bullmq'),
      packageVersion('bee-queue'),
      packageVersion('ioredis'),
      packageVersion('amqplib'),
      packageVersion('kafkajs'),
      packageVersion('@celeriac/core'),
    ]);
    return {
      Date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      CPU: cpu,
      Cores: String(cpus().length),
      Memory: `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
      Kernel: release(),
      'Load average at start (1/5/15 min)': loadavg()
        .map((v) => v.toFixed(2))
        .join(' / '),
      Node: process.version,
      Redis: rv,
      RabbitMQ: rmq,
      Kafka: kv,
      Python: py,
      Celery: celery,
      '@celeriac/core': core,
      BullMQ: bull,
      'bee-queue': bee,
      'ioredis (raw ceiling)': ioredis,
      'amqplib (raw ceiling)': amqplib,
      'kafkajs (raw ceiling)': kafkajs,
    };
  } finally {
    redis.disconnect();
  }
}
