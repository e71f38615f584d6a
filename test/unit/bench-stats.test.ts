import { describe, expect, it } from 'vitest';
import { runCount, spread, spreadByKey } from '../../bench/stats.js';

describe('benchmark statistics', () => {
  it('gives min, median and max of odd and even counts', () => {
    expect(spread([3, 1, 2])).toEqual({ min: 1, median: 2, max: 3 });
    expect(spread([4, 1, 3, 2])).toEqual({ min: 1, median: 2.5, max: 4 });
    expect(() => spread([])).toThrow('no measurements');
  });

  it('summarizes each step over runs', () => {
    expect(spreadByKey([{ a: 1, b: 5 }, { a: 3, b: 4 }, { a: 2, b: 6 }])).toEqual({
      a: { min: 1, median: 2, max: 3 },
      b: { min: 4, median: 5, max: 6 },
    });
  });

  it('reads the run count from KC_BENCH_RUNS, 3 by default, and refuses nonsense', () => {
    expect(runCount(undefined)).toBe(3);
    expect(runCount('5')).toBe(5);
    expect(() => runCount('0')).toThrow('KC_BENCH_RUNS=0');
    expect(() => runCount('two')).toThrow('whole number');
  });
});
