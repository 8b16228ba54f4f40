import { describe, expect, it } from 'vitest';
import { BoundedLabel, OTHER_LABEL } from '../src/bounded-label.js';
import { dueAt, SENT_AT_HEADER } from '../src/sent-at.js';

describe('bounded labels', () => {
  it('keeps known values and the first few others, and counts the rest as other', () => {
    const label = new BoundedLabel(2, ['known']);
    expect(['known', 'a', 'b', 'c', 'a', null].map((v) => label.of(v))).toEqual([
      'known',
      'a',
      'b',
      OTHER_LABEL,
      'a',
      OTHER_LABEL,
    ]);
    // However many names arrive, the set stays bounded.
    for (let i = 0; i < 10_000; i++) label.of(`name-${i}`);
    expect(new Set([...Array(10_000).keys()].map((i) => label.of(`name-${i}`)))).toEqual(
      new Set([OTHER_LABEL]),
    );
  });
});

describe('when a message was due', () => {
  it('is the later of its eta and its stamped publish time', () => {
    const eta = '2030-01-01T00:00:00+00:00';
    expect(dueAt({ eta, [SENT_AT_HEADER]: Date.parse('2029-01-01T00:00:00Z') })).toBe(Date.parse(eta));
    expect(dueAt({ eta: null, [SENT_AT_HEADER]: 1_000 })).toBe(1_000);
    expect(dueAt({ eta: null })).toBeUndefined();
  });
});
