import { describe, expectTypeOf, it } from 'vitest';
import type { ChordJoin } from '../src/adapter/index.js';
import type { MemoryResultBackend, ResultBackend } from '../src/index.js';
import type { ScheduleLock } from '../src/producer/index.js';

describe('the ResultBackend seam', () => {
  it('keeps results only: the scheduler lock is a separate seam', () => {
    expectTypeOf<ResultBackend>().not.toHaveProperty('claim');
    expectTypeOf<MemoryResultBackend>().toExtend<ScheduleLock>();
  });

  it('makes the chord join optional, for backends that declare no chord capability', () => {
    expectTypeOf<ResultBackend['setChordSize']>().toEqualTypeOf<ChordJoin['setChordSize'] | undefined>();
    expectTypeOf<Omit<ResultBackend, keyof ChordJoin>>().toExtend<ResultBackend>();
    expectTypeOf<MemoryResultBackend>().toExtend<ResultBackend & ChordJoin>();
  });
});
