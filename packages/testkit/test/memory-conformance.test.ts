import { MemoryBroker, MemoryResultBackend } from '@celeriac/core';
import { memoryBackendCapabilities, memoryBrokerCapabilities } from '@celeriac/core/adapter';
import { expect, it, type RunnerTestCase, type RunnerTestSuite } from 'vitest';
import { describeBroker, describeResultBackend } from '../src/index.js';
import { brokerView, narrowedBackend } from './memory-adapters.js';

// The in-memory reference passes every suite with everything it can do; then the same adapters,
// declaring less, exercise the suites' skip path. The last test reads this file's results.

const FULL = 'memory';
const NARROW = 'memory, declaring less';

const shared = new MemoryBroker();
describeBroker(FULL, {
  create: brokerView(shared),
  capabilities: memoryBrokerCapabilities,
  injectRaw: async (queue, raw) => shared.injectRaw(queue, raw),
});
const sharedBackend = new MemoryResultBackend();
describeResultBackend(FULL, {
  create: () => Object.assign(Object.create(sharedBackend) as MemoryResultBackend, { close: async () => {} }),
  capabilities: memoryBackendCapabilities,
  lock: (backend) => backend,
});

const narrowBroker = { ...memoryBrokerCapabilities, priority: false, redrive: false };
const narrowShared = new MemoryBroker();
describeBroker(NARROW, {
  create: brokerView(narrowShared, narrowBroker),
  capabilities: narrowBroker,
  injectRaw: async (queue, raw) => narrowShared.injectRaw(queue, raw),
});
// No chord join (nor its methods), no TTL declared, no lock offered.
const narrowBackend = { ...memoryBackendCapabilities, chord: false, ttl: false };
const inner = new MemoryResultBackend();
describeResultBackend(NARROW, {
  create: () => narrowedBackend(inner, narrowBackend),
  capabilities: narrowBackend,
});

/** What declaring less skips, beyond what the full adapter skips. */
const DECLARED_ABSENT = [
  'broker conformance > features > delivers more urgent messages first',
  'broker conformance > features > redrives dead letters back onto their queue',
  'result backend conformance > joins chord parts atomically and in index order',
  'result backend conformance > expires results after their TTL',
  'result backend conformance > grants a claim to exactly one caller until it expires',
];

/** Every test below `suite`, named by its path with the adapter's name left out of the top suite. */
function testsOf(suite: RunnerTestSuite, path: string[] = []): { name: string; test: RunnerTestCase }[] {
  return suite.tasks.flatMap((task) => {
    const here = [...path, task.name.replace(`: ${NARROW}`, '').replace(`: ${FULL}`, '')];
    return task.type === 'suite' ? testsOf(task, here) : [{ name: here.join(' > '), test: task }];
  });
}

it('skips exactly what an adapter declares absent, visibly, and runs the rest', ({ task }) => {
  const ofAdapter = (label: string) =>
    task.file.tasks
      .filter((t): t is RunnerTestSuite => t.type === 'suite' && t.name.endsWith(`: ${label}`))
      .flatMap((s) => testsOf({ ...s, tasks: [s] }));
  const full = ofAdapter(FULL);
  const narrow = ofAdapter(NARROW);
  // Skipped when collected (`it.skipIf`) or while running (`ctx.skip()`).
  const isSkipped = (test: RunnerTestCase) => test.mode === 'skip' || test.result?.state === 'skip';
  const skippedIn = (tests: typeof full) => tests.filter((t) => isSkipped(t.test)).map((t) => t.name);
  const alsoSkippedInFull = new Set(skippedIn(full));
  expect(
    skippedIn(narrow)
      .filter((name) => !alsoSkippedInFull.has(name))
      .sort(),
  ).toEqual([...DECLARED_ABSENT].sort());
  expect(narrow.map((t) => t.name).sort()).toEqual(full.map((t) => t.name).sort());
  const notPassed = [...full, ...narrow]
    .filter(({ test }) => !isSkipped(test) && test.result?.state !== 'pass')
    .map(({ name, test }) => `${name}: ${test.result?.state ?? 'not run'}`);
  expect(notPassed).toEqual([]);
  expect(narrow.length - skippedIn(narrow).length).toBeGreaterThan(40);
});
