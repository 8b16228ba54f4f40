import { randomUUID } from 'node:crypto';
import { requireService } from '@celeriac/test-services';
import { describe, expect, it } from 'vitest';
import { cliPath, demoContractsPath, runCli } from './cli-helpers.js';

const redis = process.env.CELERIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const up = await requireService('redis', redis);

describe.skipIf(!up)('celeriac schedule over Redis', () => {
  it('adds, lists and removes stored schedules, typed or by name', async () => {
    // A key prefix of its own: the schedules of other tests and of other runs are not listed.
    const backend = `${redis}?globalKeyPrefix=cli-${randomUUID().slice(0, 8)}`;
    const cli = (args: string[]) =>
      runCli(cliPath('cli'), args, { CELERIAC_BROKER_URL: redis, CELERIAC_RESULT_BACKEND: backend });

    const typed = await cli([
      'schedule',
      'add',
      'nightly-sum',
      'demo.add',
      '{"x":1,"y":2}',
      '--cron',
      '0 3 * * *',
      '--tz',
      'Europe/Paris',
      '--catch-up',
      'one',
      '--contracts',
      demoContractsPath(),
    ]);
    expect(typed.stderr).toBe('');
    expect(typed.code).toBe(0);
    expect(typed.stdout).toContain('nightly-sum\tdemo.add\tcron "0 3 * * *" Europe/Paris');

    const bad = await cli([
      'schedule',
      'add',
      'bad',
      'demo.add',
      '{"x":"no"}',
      '--every',
      '1000',
      '--contracts',
      demoContractsPath(),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('VALIDATION_FAILED');

    const untyped = await cli([
      'schedule',
      'add',
      'py-report',
      'py.report',
      '[1,2]',
      '--every',
      '60000',
      '--queue',
      'py',
    ]);
    expect(untyped.code).toBe(0);

    const listed = await cli(['schedule', 'list', '--json']);
    expect(listed.code).toBe(0);
    const rows = listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.map((r) => r.id).sort()).toEqual(['nightly-sum', 'py-report']);
    expect(rows.find((r) => r.id === 'nightly-sum')).toMatchObject({
      task: 'demo.add',
      kwargs: { x: 1, y: 2 },
      timezone: 'Europe/Paris',
      catchUp: 'one',
    });
    expect(rows.find((r) => r.id === 'py-report')).toMatchObject({
      task: 'py.report',
      args: [1, 2],
      everyMs: 60_000,
      options: { queue: 'py' },
      catchUp: 'skip',
    });

    expect((await cli(['schedule', 'remove', 'py-report'])).code).toBe(0);
    expect((await cli(['schedule', 'remove', 'py-report'])).code).toBe(1);
    expect((await cli(['schedule', 'remove', 'nightly-sum'])).code).toBe(0);
    expect((await cli(['schedule', 'list'])).stdout).toBe('');
  });
});
