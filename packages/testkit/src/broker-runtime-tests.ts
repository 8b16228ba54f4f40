import type { BrokerSuiteContext } from './broker-context.js';

/** Worker-level behaviour (retries, expiry, time limits, shutdown) run over the adapter. */
export function runtimeTests(_ctx: BrokerSuiteContext): void {}
