import { describe, expect, it } from 'vitest';
import { brokerSchemes, createBroker, FileBroker, parseFileUrl } from '../src/index.js';

describe('file broker URL', () => {
  it('names an absolute directory, with optional lease and poll settings', () => {
    expect(parseFileUrl('file:///var/spool/celeriac')).toEqual({ directory: '/var/spool/celeriac' });
    expect(parseFileUrl('file://localhost/tmp/q%20s?leaseMs=5000&pollMs=50')).toEqual({
      directory: '/tmp/q s',
      leaseMs: 5000,
      pollMs: 50,
    });
  });

  it.each([
    ['not a URL', 'spool'],
    ['another scheme', 'redis://localhost:6379'],
    ['a remote host', 'file://fileserver/share'],
    ['the root directory', 'file:///'],
    ['an unknown parameter', 'file:///tmp/q?lease=5'],
    ['a lease that is not a positive integer', 'file:///tmp/q?leaseMs=-1'],
  ])('refuses %s with a ConfigError', (_, url) => {
    expect(() => parseFileUrl(url)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('is found by its scheme', () => {
    expect(brokerSchemes).toEqual(['file']);
    const broker = createBroker('file:///tmp/celeriac-file-broker-url-test');
    expect(broker).toBeInstanceOf(FileBroker);
    expect((broker as FileBroker).directory).toBe('/tmp/celeriac-file-broker-url-test');
  });
});
