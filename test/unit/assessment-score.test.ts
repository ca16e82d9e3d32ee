/**
 * The health score (common/assessment/score.ts) decides how operators read an assessment, so its arithmetic
 * is pinned down with exact numbers: penalties per category, weights, unknowns excluded and reported as
 * coverage, the 59 cap for critical availability/durability findings, bands, the empty case and the
 * estate's mean. The latency percentiles (common/assessment/percentiles.ts) are checked on known arrays.
 */
import { describe, expect, it } from 'vitest';
import { percentiles, regressionPct } from '../../common/assessment/percentiles';
import { ASSESSMENT_RULES } from '../../common/assessment/rules';
import { bandOf, scoreEstate, scoreFindings } from '../../common/assessment/score';
import type { CheckCategory, CheckResult, HealthScore, Severity } from '../../common/contracts/assessment';

let seq = 0;
/** One finding of `category` with `severity` on target `db1`. */
function finding(category: CheckCategory, severity: Severity, extra: Partial<CheckResult> = {}): CheckResult {
  seq++;
  return {
    id: `pg.check_${seq}`,
    engine: 'postgres',
    target: 'db1',
    category,
    severity,
    title: `check ${seq}`,
    value: severity === 'unknown' ? null : 1,
    evidence: 'fixture',
    ...extra,
  };
}

describe('scoreFindings', () => {
  it('scores two warnings in performance as 70, the only category scored', () => {
    const s = scoreFindings([finding('performance', 'warning'), finding('performance', 'warning')]);
    expect(s).toEqual({ score: 70, band: 'good', coverage: 1, byCategory: { performance: 70 } });
  });

  it('weights categories: performance 70 (w25) and maintenance 100 (w20) → round(83.33) = 83', () => {
    const s = scoreFindings([
      finding('performance', 'warning'),
      finding('performance', 'warning'),
      finding('maintenance', 'ok'),
    ]);
    expect(s.score).toBe(83);
    expect(s.byCategory).toEqual({ performance: 70, maintenance: 100 });
    expect(s.band).toBe('good');
  });

  it('charges one penalty per finding whatever its count, info 3 and floors a category at 0', () => {
    expect(scoreFindings([finding('schema', 'warning', { count: 50 })]).score).toBe(85);
    expect(scoreFindings([finding('schema', 'info')]).score).toBe(97);
    const floor = scoreFindings([0, 1, 2].map(() => finding('capacity', 'critical')));
    expect(floor.byCategory.capacity).toBe(0);
    expect(floor.score).toBe(0);
    expect(floor.cappedBy).toBeUndefined();
  });

  it('caps the overall at 59 for a critical in durability and says why', () => {
    const findings = [
      ...(['availability', 'performance', 'maintenance', 'capacity', 'schema'] as const).map((c) => finding(c, 'ok')),
      finding('durability', 'critical', { id: 'redis.last_save', target: 'cache1', title: 'last save 3 days ago' }),
    ];
    // Uncapped: (20+25+20+15+10)·100 + 10·60 = 9600 / 100 = 96.
    const s = scoreFindings(findings);
    expect(s.byCategory.durability).toBe(60);
    expect(s.score).toBe(59);
    expect(s.band).toBe('fair');
    expect(s.cappedBy).toEqual(['cache1: redis.last_save critical (last save 3 days ago)']);
  });

  it('does not cap for a critical outside the cap categories', () => {
    const s = scoreFindings([finding('availability', 'ok'), finding('performance', 'critical')]);
    // (20·100 + 25·60) / 45 = 77.78 → 78
    expect(s.score).toBe(78);
    expect(s.cappedBy).toBeUndefined();
  });

  it('gives a database that is down (one critical availability finding) at most 59, and lists it', () => {
    const s = scoreFindings([finding('availability', 'critical', { id: 'pg.up', title: 'server reachable' })]);
    expect(s.byCategory).toEqual({ availability: 60 });
    expect(s.score).toBe(59);
    expect(s.score).toBeLessThanOrEqual(ASSESSMENT_RULES.criticalCap);
    expect(s.cappedBy).toEqual(['db1: pg.up critical (server reachable)']);
  });

  it('keeps a capped score that is already lower than 59 as it is, still naming the cause', () => {
    const s = scoreFindings([
      finding('availability', 'critical'),
      finding('availability', 'critical'),
      finding('availability', 'warning'),
    ]);
    expect(s.score).toBe(5);
    expect(s.band).toBe('poor');
    expect(s.cappedBy).toHaveLength(2);
  });

  it('excludes unknowns from the score and reports coverage 0.75', () => {
    const s = scoreFindings([
      finding('performance', 'warning'),
      finding('performance', 'ok'),
      finding('maintenance', 'ok'),
      finding('schema', 'unknown'),
    ]);
    // performance 85 (w25), maintenance 100 (w20); schema has only an unknown → not scored, not half credit.
    expect(s.byCategory).toEqual({ performance: 85, maintenance: 100 });
    expect(s.score).toBe(Math.round((25 * 85 + 20 * 100) / 45));
    expect(s.score).toBe(92);
    expect(s.coverage).toBe(0.75);
    expect(s.band).toBe('excellent');
  });

  it('scores no findings, or only unknowns, as 0 / poor', () => {
    expect(scoreFindings([])).toEqual({ score: 0, band: 'poor', coverage: 0, byCategory: {} });
    expect(scoreFindings([finding('performance', 'unknown'), finding('schema', 'unknown')])).toEqual({
      score: 0,
      band: 'poor',
      coverage: 0,
      byCategory: {},
    });
  });

  it('rounds coverage to three decimals', () => {
    const s = scoreFindings([finding('schema', 'ok'), finding('schema', 'ok'), finding('schema', 'unknown')]);
    expect(s.coverage).toBe(0.667);
  });

  it('follows the rules passed in', () => {
    const rules = { ...ASSESSMENT_RULES, penalties: { critical: 50, warning: 20, info: 5 }, criticalCap: 40 };
    const s = scoreFindings([finding('performance', 'warning'), finding('durability', 'ok')], rules);
    // (25·80 + 10·100) / 35 = 85.71 → 86
    expect(s.score).toBe(86);
    const down = scoreFindings([finding('availability', 'critical')], rules);
    expect(down.score).toBe(40);
  });
});

describe('bandOf', () => {
  it('uses lower bounds 90 / 70 / 50', () => {
    expect([100, 90, 89, 70, 69, 50, 49, 0].map((s) => bandOf(s))).toEqual([
      'excellent',
      'excellent',
      'good',
      'good',
      'fair',
      'fair',
      'poor',
      'poor',
    ]);
  });
});

describe('scoreEstate', () => {
  const db = (score: number, coverage: number, byCategory: HealthScore['byCategory'] = {}, cappedBy?: string[]) =>
    ({ score, band: bandOf(score), coverage, byCategory, ...(cappedBy ? { cappedBy } : {}) }) satisfies HealthScore;

  it('is the mean of the databases that measured anything; coverage is the mean of all', () => {
    const s = scoreEstate([
      db(90, 1, { performance: 80, schema: 100 }),
      db(71, 0.5, { performance: 65 }),
      db(0, 0), // nothing measured: no score to average, but it lowers coverage
    ]);
    expect(s.score).toBe(81); // (90 + 71) / 2 = 80.5 → 81
    expect(s.band).toBe('good');
    expect(s.coverage).toBe(0.5); // (1 + 0.5 + 0) / 3
    expect(s.byCategory).toEqual({ performance: 73, schema: 100 }); // (80 + 65) / 2 = 72.5 → 73
    expect(s.cappedBy).toBeUndefined();
  });

  it('is capped at 59 when any database is capped, with their reasons', () => {
    const s = scoreEstate([db(95, 1), db(100, 1), db(59, 1, {}, ['pg2: pg.up critical (server reachable)'])]);
    // Mean 84.67 → 85, capped.
    expect(s.score).toBe(59);
    expect(s.band).toBe('fair');
    expect(s.cappedBy).toEqual(['pg2: pg.up critical (server reachable)']);
  });

  it('is 0 / poor for no database or none measured', () => {
    expect(scoreEstate([])).toEqual({ score: 0, band: 'poor', coverage: 0, byCategory: {} });
    expect(scoreEstate([db(0, 0), db(0, 0)])).toEqual({ score: 0, band: 'poor', coverage: 0, byCategory: {} });
  });
});

describe('percentiles (nearest rank)', () => {
  it('picks measured values: 1..100 → 50 / 95 / 99', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // unsorted on purpose
    expect(percentiles(values)).toEqual({ p50: 50, p95: 95, p99: 99 });
  });

  it('on 20 runs: ranks 10, 19 and 20', () => {
    const runs = [12, 3, 7, 1, 9, 15, 4, 8, 2, 20, 11, 6, 5, 14, 10, 13, 18, 16, 17, 19].map((x) => x * 1.5);
    expect(percentiles(runs)).toEqual({ p50: 15, p95: 28.5, p99: 30 });
  });

  it('handles one value, small sets, bad values and empty input', () => {
    expect(percentiles([4.2])).toEqual({ p50: 4.2, p95: 4.2, p99: 4.2 });
    expect(percentiles([1, 2, 3, 4])).toEqual({ p50: 2, p95: 4, p99: 4 });
    expect(percentiles([5, Number.NaN, -1, Number.POSITIVE_INFINITY, 1])).toEqual({ p50: 1, p95: 5, p99: 5 });
    expect(percentiles([])).toEqual({ p50: 0, p95: 0, p99: 0 });
  });

  it('does not reorder the caller’s array', () => {
    const values = [3, 1, 2];
    percentiles(values);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe('regressionPct', () => {
  it('is the change in percent of the baseline, one decimal', () => {
    expect(regressionPct(12, 10)).toBe(20);
    expect(regressionPct(8, 10)).toBe(-20);
    expect(regressionPct(10, 3)).toBe(233.3);
    expect(regressionPct(5, 5)).toBe(0);
  });

  it('is undefined without a usable baseline', () => {
    expect(regressionPct(5, 0)).toBeUndefined();
    expect(regressionPct(5, -1)).toBeUndefined();
    expect(regressionPct(Number.NaN, 5)).toBeUndefined();
  });
});
