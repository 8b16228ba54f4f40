import { mkdtempSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeBroker } from '@celeriac/testkit';
import { FileBroker, fileBrokerCapabilities } from '../src/index.js';

const directory = mkdtempSync(join(tmpdir(), 'celeriac-file-broker-'));
// A short lease so a crashed consumer's messages come back within the suite's patience.
const url = `${pathToFileURL(directory).href}?leaseMs=2000&pollMs=100`;

describeBroker('file', {
  create: () => new FileBroker({ url }),
  capabilities: fileBrokerCapabilities,
  injectRaw: async (queue, raw) => {
    const producer = new FileBroker({ url });
    await producer.publishRaw(queue, raw);
    await producer.close();
  },
  simulateCrash: async (broker) => (broker as FileBroker).destroy(),
  // The directory goes away (an unmounted volume) until it is put back.
  interruptSettlement: async () => {
    const away = `${directory}.offline`;
    await rename(directory, away);
    return () => rename(away, directory);
  },
  cleanup: () => rm(directory, { recursive: true, force: true }),
});
