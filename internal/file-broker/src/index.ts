/**
 * `@celeriac/file-broker`: a broker whose queues are directories of message files. Written from
 * `docs/writing-an-adapter.md` alone, as the proof that the guide suffices; not published.
 *
 * @packageDocumentation
 */
export { fileBrokerCapabilities } from './capabilities.js';
export { createBroker } from './create-broker.js';
export { FileBroker } from './file-broker.js';
export type { FileBrokerOptions } from './options.js';
export { brokerSchemes, type ParsedFileUrl, parseFileUrl } from './url.js';
