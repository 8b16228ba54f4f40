import { readFileSync } from 'node:fs';
import { defineTask, MemoryBroker, MemoryResultBackend } from '@celeriac/core';
import { createClient } from '@celeriac/core/producer';
import { createWorker, implement } from '@celeriac/core/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { collectWorkerMetrics, METRIC_NAMES } from '../src/index.js';
import { stampSentAt } from '../src/producer.js';
import { parseMetrics, type Sample } from './scrape.js';

const docs = new URL('../../../docs/', import.meta.url);
const exported = new Set<string>(Object.values(METRIC_NAMES));

/** `celeriac_*` names an expression uses, without a histogram's `_bucket`/`_sum`/`_count`. */
function metricsIn(expression: string): string[] {
  return [...expression.matchAll(/\bceleriac_\w+/g)].map(([name]) =>
    exported.has(name) ? name : name.replace(/_(bucket|sum|count)$/, ''),
  );
}

/** Every YAML document of the fenced yaml blocks of a markdown file. */
function yamlDocuments(markdown: string): Record<string, unknown>[] {
  return [...markdown.matchAll(/```yaml\n([\s\S]*?)```/g)].flatMap(([, block]) =>
    parseAllDocuments(block as string).map((doc) => {
      expect(doc.errors).toEqual([]);
      return doc.toJS() as Record<string, unknown>;
    }),
  );
}

/** What a worker on the doc's `celery` queue exports after running one stamped task. */
async function scrapeWorker(): Promise<Sample[]> {
  const broker = new MemoryBroker();
  const backend = new MemoryResultBackend();
  const ping = defineTask({ name: 'docs.ping', input: z.object({}), output: z.literal('pong') });
  const worker = createWorker({ broker, backend, tasks: [implement(ping, () => 'pong' as const)] });
  const metrics = collectWorkerMetrics(worker, { broker });
  const client = createClient({ broker, backend, interceptors: [stampSentAt()] });
  await worker.start();
  try {
    await (await client.enqueue(ping, {})).result({ timeoutMs: 5_000 });
    return parseMetrics(await metrics.registry.metrics());
  } finally {
    metrics.stop();
    await worker.stop();
    await client.close();
  }
}

let samples: Sample[] | undefined;
const scraped = async () => {
  samples ??= await scrapeWorker();
  return samples;
};
afterAll(() => {
  samples = undefined;
});

describe('docs/autoscaling.md', () => {
  const docsYaml = yamlDocuments(readFileSync(new URL('autoscaling.md', docs), 'utf8'));

  it('scales a KEDA ScaledObject on the queue-depth and latency series a worker exports', async () => {
    const scaled = docsYaml.find((d) => d.kind === 'ScaledObject') as {
      spec: { triggers: { type: string; metadata: { query: string; threshold: string } }[] };
    };
    expect(scaled).toBeDefined();
    const queries = scaled.spec.triggers.map((t) => t.metadata.query);
    expect(
      scaled.spec.triggers.every((t) => t.type === 'prometheus' && Number(t.metadata.threshold) > 0),
    ).toBe(true);
    expect(new Set(queries.flatMap(metricsIn))).toEqual(
      new Set([METRIC_NAMES.queueDepth, METRIC_NAMES.queueLatency]),
    );
    // The series the queries select exist, with the label value they select on.
    const series = await scraped();
    for (const [, name, queue] of queries.join('\n').matchAll(/(celeriac_\w+)\{queue="([^"]+)"\}/g)) {
      expect(
        series.some((s) => s.name === name && s.labels.queue === queue),
        `${name}{queue="${queue}"}`,
      ).toBe(true);
    }
  });

  it('gives an HPA on the external queue-depth metric that prometheus-adapter serves', async () => {
    const hpa = docsYaml.find((d) => d.kind === 'HorizontalPodAutoscaler') as {
      spec: {
        metrics: { external: { metric: { name: string; selector: { matchLabels: { queue: string } } } } }[];
      };
    };
    const adapter = docsYaml.find((d) => 'externalRules' in d) as {
      externalRules: { seriesQuery: string; metricsQuery: string; name: { as: string } }[];
    };
    const metric = hpa.spec.metrics[0]?.external.metric;
    expect(metric?.name).toBe(METRIC_NAMES.queueDepth);
    const rule = adapter.externalRules.find((r) => r.name.as === metric?.name);
    expect(rule && metricsIn(`${rule.seriesQuery} ${rule.metricsQuery}`)).toEqual([
      METRIC_NAMES.queueDepth,
      METRIC_NAMES.queueDepth,
    ]);
    const series = await scraped();
    expect(
      series.some(
        (s) => s.name === METRIC_NAMES.queueDepth && s.labels.queue === metric?.selector.matchLabels.queue,
      ),
    ).toBe(true);
  });
});

describe('docs/grafana-dashboard.json', () => {
  it('charts every series the package exports, and only those', () => {
    const dashboard = JSON.parse(readFileSync(new URL('grafana-dashboard.json', docs), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const used = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricsIn(t.expr))));
    expect(used).toEqual(exported);
  });
});
