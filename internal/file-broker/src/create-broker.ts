import type { Broker } from '@celeriac/core/adapter';
import { FileBroker } from './file-broker.js';

/** The broker a `file:///directory` URL names. */
export function createBroker(url: string): Broker {
  return new FileBroker({ url });
}
