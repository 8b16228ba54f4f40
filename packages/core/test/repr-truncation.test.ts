import { describe, expect, it } from 'vitest';
import { createTaskMessage } from '../src/adapter/index.js';

/** A lone surrogate: a high half not followed by a low one, or a low half without its high one. */
const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('argsrepr and kwargsrepr cut at 1024 characters', () => {
  // Every cut position around the limit, for an emoji right where a naive cut would split it (the
  // issue's 1012 × 'a' + '😀' among them).
  const inputs = Array.from({ length: 40 }, (_, i) => `${'a'.repeat(995 + i)}😀 and more after the limit`);

  it('never split a surrogate pair, so the headers carry no lone-surrogate escape', () => {
    for (const text of inputs) {
      const message = createTaskMessage({ task: 't', args: [text], kwargs: { text } });
      for (const repr of [message.headers.argsrepr, message.headers.kwargsrepr]) {
        expect(repr.length).toBeLessThanOrEqual(1024);
        expect(repr.endsWith('...')).toBe(true);
        expect(LONE.test(repr)).toBe(false);
      }
      expect(JSON.stringify(message.headers)).not.toMatch(/\\ud[89a-f][0-9a-f]{2}/i);
    }
  });

  it('keeps short reprs whole, emoji included', () => {
    const message = createTaskMessage({ task: 't', kwargs: { text: 'a'.repeat(1012) } });
    expect(message.headers.kwargsrepr).toBe(JSON.stringify({ text: 'a'.repeat(1012) }));
    const emoji = createTaskMessage({ task: 't', args: ['😀'] });
    expect(emoji.headers.argsrepr).toBe('["😀"]');
  });
});
