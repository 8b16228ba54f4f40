import { MemoryBroker, MemoryResultBackend } from '@celeriac/core';
import { memoryBackendCapabilities, memoryBrokerCapabilities } from '@celeriac/core/adapter';
import { expect, it, type RunnerTestCase, type RunnerTestSuite } from 'vitest';
import { describeBroker, describeResultBackend } from '../src/index.js';
import { brokerView, ResultsOnlyBackend } from './memory-adapters.js';

// The suites' skip path, on real in-memory adapters that declare less than they could do. The last
// test reads this file's results: what is declared absent is reported skipped, the rest passed.

const shared = new MemoryBroker();
describeBroker('memory without priority or redrive', {
  create: brokerView(shared, { ...memoryBrokerCapabilities, priority: false, redrive: false }),
  capabilities: { ...memoryBrokerCapabilities, priority: false, redrive: false },
  injectRaw: async (queue, raw) => shared.injectRaw(queue, raw),
});

const resultsOnly = { ...memoryBackendCapabilities, chord: false, ttl: false };
const inner = new MemoryResultBackend();
describeResultBackend('memory without chord join, TTL or lock', {
  create: () => new ResultsOnlyBackend(inner, resultsOnly),
  capabilities: resultsOnly,
});

const DECLARED_ABSENT = [
  'broker conformance: memory without priority or redrive > features > delivers more urgent messages first',
  'broker conformance: memory without priority or redrive > features > redrives dead letters back onto their queue',
  'result backend conformance: memory without chord join, TTL or lock > joins chord parts atomically and in index order',
  'result backend conformance: memory without chord join, TTL or lock > expires results after their TTL',
  'result backend conformance: memory without chord join, TTL or lock > grants a claim to exactly one caller until it expires',
];

function testsOf(suite: RunnerTestSuite, path: string[] = []): { name: string; test: RunnerTestCase }[] {
  return suite.tasks.flatMap((task) => {
    const here = [...path, task.name];
    return task.type === 'suite' ? testsOf(task, here) : [{ name: here.join(' > '), test: task }];
  });
}

it('skips exactly what is declared absent, visibly, and runs the rest', ({ task }) => {
  const tests = testsOf(task.file).filter(({ test }) => test !== task);
  const skipped = tests.filter(({ test }) => test.mode === 'skip').map(({ name }) => name);
  expect(skipped.sort()).toEqual([...DECLARED_ABSENT].sort());
  const notPassed = tests
    .filter(({ test }) => test.mode !== 'skip' && test.result?.state !== 'pass')
    .map(({ name, test }) => `${name}: ${test.result?.state ?? 'not run'}`);
  expect(notPassed).toEqual([]);
  // Both suites ran their other tests (the broker suite includes the worker runtime on the broker).
  expect(tests.length - skipped.length).toBeGreaterThan(40);
});
