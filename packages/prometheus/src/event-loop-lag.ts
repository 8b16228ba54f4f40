import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/**
 * `celeriac_event_loop_lag_seconds{quantile}`: how late timers ran since the previous scrape
 * (median, p99 and max). A worker whose handlers block the loop shows it here before its tasks
 * time out.
 */
export function eventLoopLagGauge(registry: Registry, name: string): { stop(): void } {
  const histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  new Gauge({
    name,
    help: 'Event-loop delay since the previous scrape, by quantile (1 = max)',
    labelNames: ['quantile'] as const,
    registers: [registry],
    collect() {
      // The histogram records nanoseconds; an idle interval has no samples and reports 0.
      const seconds = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
      this.set({ quantile: '0.5' }, seconds(histogram.percentile(50)));
      this.set({ quantile: '0.99' }, seconds(histogram.percentile(99)));
      this.set({ quantile: '1' }, seconds(histogram.max));
      histogram.reset();
    },
  });
  return { stop: () => histogram.disable() };
}
