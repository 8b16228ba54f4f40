import { describe, expect, it } from 'vitest';
import { parseMarker, RedeliveryMarker } from '../src/redelivery-marker.js';

describe('redelivery marker reservations', () => {
  it('covers fetched records before they go out, and counts them as delivered at the next owner', () => {
    const m = new RedeliveryMarker(null);
    m.note(10);
    m.reserve(15);
    expect(m.covers(10)).toBe(false);
    const stored = m.metadata(10);
    m.persisted(m.snapshot());
    expect(m.covers(14)).toBe(true);
    expect(m.covers(15)).toBe(false);
    // depth reads the exact end; the next owner counts the whole reservation as delivered.
    expect(parseMarker(stored)).toMatchObject({ end: 11, reserved: 15 });
    const next = new RedeliveryMarker(stored);
    expect([next.prior(10), next.prior(14), next.prior(15)]).toEqual([1, 1, 0]);
  });

  it('holds a record back until its redelivery count is stored', () => {
    const m = new RedeliveryMarker('{"v":1,"e":11,"x":15}');
    expect(m.covers(12)).toBe(true);
    expect(m.note(12)).toBe(1);
    expect(m.covers(12)).toBe(false);
    const stored = parseMarker(m.metadata(10));
    m.persisted(m.snapshot());
    expect(m.covers(12)).toBe(true);
    expect(stored.counts.get(12)).toBe(2);
  });

  it('trims the reservation to what was handed out, never below the previous owner’s', () => {
    const m = new RedeliveryMarker('{"v":1,"e":11,"x":15}');
    m.note(20);
    m.reserve(40);
    m.trimTo(21);
    expect(parseMarker(m.metadata(10))).toMatchObject({ end: 21, reserved: 21 });
    const fresh = new RedeliveryMarker('{"v":1,"e":11,"x":15}');
    fresh.trimTo(undefined);
    expect(parseMarker(fresh.metadata(10))).toMatchObject({ end: 11, reserved: 15 });
  });
});
