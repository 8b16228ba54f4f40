import { describe, expect, it } from 'vitest';
import { redactUrl } from '../src/adapter/index.js';

describe('redactUrl', () => {
  it('hides the password of user:password@ and keeps the rest', () => {
    expect(redactUrl('redis://u:hunter2@h:6379/0')).toBe('redis://u:***@h:6379/0');
    expect(redactUrl('amqp://user:secret@host:5672/vh')).toBe('amqp://user:***@host:5672/vh');
    expect(redactUrl('redis://:pw@localhost')).toBe('redis://:***@localhost');
    expect(redactUrl('rediss+sentinel://app:p%40ss@s1:26379,s2/mymaster')).toBe(
      'rediss+sentinel://app:***@s1:26379,s2/mymaster',
    );
  });

  it('hides a lone secret@, which Redis reads as a password', () => {
    expect(redactUrl('redis://secret@cache:6379')).toBe('redis://***@cache:6379');
  });

  it('hides a password containing a slash', () => {
    expect(redactUrl('amqp://guest:a/b@host')).toBe('amqp://guest:***@host');
  });

  it('hides secrets passed as query parameters', () => {
    expect(redactUrl('redis+sentinel://s1/mymaster?sentinelPassword=sp&readFromReplica=true')).toBe(
      'redis+sentinel://s1/mymaster?sentinelPassword=***&readFromReplica=true',
    );
    expect(redactUrl('kafka://h:9092?saslToken=abc')).toBe('kafka://h:9092?saslToken=***');
  });

  it('leaves a URL without secrets as it is', () => {
    for (const url of ['redis://127.0.0.1:6379', 'kafka://a:9092,b:9092?partitions=4', 'memory://x']) {
      expect(redactUrl(url)).toBe(url);
    }
  });
});
