/**
 * Hot/warm/cold classification (common/assessment/usage.ts) from two counter samples: ops per minute from
 * the deltas, the exact edges of the shipped thresholds (hot ≥ 60/min, cold ≤ 0/min), counter resets after
 * a server restart, tables created or dropped in the window, and the hottest-first order.
 */
import { describe, expect, it } from 'vitest';
import { ASSESSMENT_RULES } from '../../common/assessment/rules';
import { classifyUsage } from '../../common/assessment/usage';

describe('classifyUsage', () => {
  it('classifies on the edges: 60/min is hot, 59/min warm, 0 cold, one op warm', () => {
    const before = {
      a: { reads: 100, writes: 0 },
      b: { reads: 100, writes: 10 },
      c: { reads: 5, writes: 5 },
      d: { reads: 0, writes: 0 },
    };
    const after = {
      a: { reads: 150, writes: 10 }, // 60 ops in 60 s = 60/min → hot
      b: { reads: 149, writes: 20 }, // 59/min → warm
      c: { reads: 5, writes: 5 }, // 0/min → cold
      d: { reads: 0, writes: 1 }, // 1/min → warm
    };
    expect(classifyUsage(before, after, 60)).toEqual([
      { name: 'a', reads: 50, writes: 10, temperature: 'hot' },
      { name: 'b', reads: 49, writes: 10, temperature: 'warm' },
      { name: 'd', reads: 0, writes: 1, temperature: 'warm' },
      { name: 'c', reads: 0, writes: 0, temperature: 'cold' },
    ]);
  });

  it('scales by the window: 30 ops in 30 s is 60/min (hot), in 31 s it is warm', () => {
    const before = { t: { reads: 0, writes: 0 } };
    const after = { t: { reads: 30, writes: 0 } };
    expect(classifyUsage(before, after, 30)[0]?.temperature).toBe('hot');
    expect(classifyUsage(before, after, 31)[0]?.temperature).toBe('warm');
  });

  it('treats a counter that went down as a restart: the second sample is the delta', () => {
    const before = { orders: { reads: 1_000_000, writes: 50_000 } };
    const after = { orders: { reads: 40, writes: 50_020 } }; // reads reset; writes not lower by chance
    expect(classifyUsage(before, after, 60)).toEqual([
      { name: 'orders', reads: 40, writes: 50_020, temperature: 'hot' },
    ]);
    const quiet = classifyUsage({ x: { reads: 500, writes: 9 } }, { x: { reads: 0, writes: 0 } }, 60);
    expect(quiet).toEqual([{ name: 'x', reads: 0, writes: 0, temperature: 'cold' }]);
  });

  it('counts a table new in the window from 0 and ignores a dropped one', () => {
    const result = classifyUsage({ gone: { reads: 1, writes: 1 } }, { fresh: { reads: 3, writes: 0 } }, 60);
    expect(result).toEqual([{ name: 'fresh', reads: 3, writes: 0, temperature: 'warm' }]);
  });

  it('sorts hottest first, ties by name', () => {
    const before = {};
    const after = { b: { reads: 5, writes: 0 }, a: { reads: 5, writes: 0 }, c: { reads: 500, writes: 0 } };
    expect(classifyUsage(before, after, 60).map((u) => u.name)).toEqual(['c', 'a', 'b']);
  });

  it('follows the rules passed in', () => {
    const rules = { ...ASSESSMENT_RULES, usage: { hotOpsPerMinute: 10, coldOpsPerMinute: 2 } };
    const after = { h: { reads: 10, writes: 0 }, w: { reads: 3, writes: 0 }, c: { reads: 2, writes: 0 } };
    expect(classifyUsage({}, after, 60, rules).map((u) => `${u.name}:${u.temperature}`)).toEqual([
      'h:hot',
      'w:warm',
      'c:cold',
    ]);
  });

  it('refuses a window that is not positive', () => {
    expect(() => classifyUsage({}, {}, 0)).toThrow(RangeError);
    expect(() => classifyUsage({}, {}, Number.NaN)).toThrow(RangeError);
  });
});
