import { afterAll, afterEach, describe } from 'vitest';
import { BrokerSuiteContext, type BrokerSuiteOptions } from './broker-context.js';
import { deadEndTests } from './broker-dead-end-tests.js';
import { deliveryTests } from './broker-delivery-tests.js';
import { featureTests } from './broker-feature-tests.js';
import { runtimeTests } from './broker-runtime-tests.js';
import { settlementTests } from './broker-settlement-tests.js';
import { workflowDeadEndTests } from './broker-workflow-dead-end-tests.js';

/**
 * The broker conformance suite. Every adapter runs it in one short test file:
 *
 * @example
 * ```ts
 * describeBroker('redis', { create: () => new RedisBroker({ url }), capabilities: redisBrokerCapabilities });
 * ```
 *
 * Capabilities declared absent are skipped (and show as skipped); declared ones must pass.
 */
export function describeBroker(name: string, options: BrokerSuiteOptions): void {
  describe(`broker conformance: ${name}`, () => {
    const ctx = new BrokerSuiteContext(options);
    afterEach(() => ctx.closeAll());
    afterAll(() => options.cleanup?.());
    describe('delivery', () => deliveryTests(ctx));
    describe('settlement', () => settlementTests(ctx));
    describe('features', () => featureTests(ctx));
    describe('worker runtime on this broker', () => runtimeTests(ctx));
    describe('no dead ends in a canvas on this broker', () => deadEndTests(ctx));
    describe('no dead ends in a workflow on this broker', () => workflowDeadEndTests(ctx));
  });
}
