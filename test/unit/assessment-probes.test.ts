/** Probes derived from live statement statistics: only frequent, parameter-free, side-effect-free reads. */
import { describe, expect, it } from 'vitest';
import { probesFromLivePatterns } from '../../common/assessment/probes';
import type { QueryPattern } from '../../common/contracts/assessment';

const p = (text: string, calls: number, kind: QueryPattern['kind'] = 'select'): QueryPattern => ({
  text,
  kind,
  tables: [],
  calls,
});

describe('probesFromLivePatterns', () => {
  it('keeps the most called runnable SELECTs and drops parameters, writes, locks and multi-statements', () => {
    const probes = probesFromLivePatterns([
      p('SELECT * FROM orders WHERE id = $1', 900),
      p('SELECT count(*) FROM orders', 500),
      p('UPDATE orders SET x = 1', 800, 'update'),
      p('SELECT * FROM users WHERE id = ?', 700),
      p('SELECT * FROM jobs FOR UPDATE', 650),
      p('SELECT 1; DELETE FROM t', 600),
      p('WITH r AS (SELECT * FROM events ORDER BY at DESC LIMIT 10) SELECT * FROM r', 300),
      p('SELECT name FROM countries ORDER BY name', 400),
      p("SELECT nextval('s')", 999),
    ]);
    expect(probes.map((x) => x.sql)).toEqual([
      'SELECT count(*) FROM orders',
      'SELECT name FROM countries ORDER BY name',
      'WITH r AS (SELECT * FROM events ORDER BY at DESC LIMIT 10) SELECT * FROM r',
    ]);
    expect(probes[0]?.name).toBe('live: SELECT count(*) FROM orders');
  });

  it('returns nothing when no live statement can run as it stands', () => {
    expect(probesFromLivePatterns([p('SELECT * FROM t WHERE a = $1', 10)])).toEqual([]);
  });
});
