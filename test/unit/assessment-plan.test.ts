/**
 * The plan choice (common/assessment/plan.ts): Plan A (consolidate into PostgreSQL) when every measured
 * number is within the rules, Plan B (PostgreSQL plus what cannot move) when the time series is too big or
 * too fast, Redis is a large store, or MySQL uses a blocking feature — each reason quoting its numbers —
 * and the migration order and risks that follow.
 */
import { describe, expect, it } from 'vitest';
import { choosePlan, type PlanFacts } from '../../common/assessment/plan';
import type { VolumeReport } from '../../common/contracts/assessment';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

const volumes: VolumeReport[] = [
  {
    target: 'pg1',
    engine: 'postgres',
    totalBytes: 3 * GiB,
    tables: [{ name: 'public.users', rows: 10_000, rowsExact: true, dataBytes: 2 * GiB, indexBytes: GiB }],
  },
  {
    target: 'shop',
    engine: 'mysql',
    totalBytes: 1.5 * GiB,
    tables: [
      { name: 'shop.products', rows: 2_000_000, rowsExact: true, dataBytes: GiB, indexBytes: 0 },
      { name: 'shop.customers', rows: 300_000, rowsExact: true, dataBytes: 0.5 * GiB, indexBytes: 0 },
    ],
  },
  {
    target: 'tsdb',
    engine: 'tdengine',
    totalBytes: 40 * GiB,
    tables: [
      { name: 'power.meters', rows: 1_200_000_000, rowsExact: true, dataBytes: 40 * GiB, indexBytes: 0 },
      { name: 'power.events', rows: 5_000, rowsExact: true, dataBytes: MiB, indexBytes: 0 },
    ],
  },
];

/** An estate that fits PostgreSQL everywhere; tests override one fact at a time. */
function facts(overrides: Partial<PlanFacts> = {}): PlanFacts {
  return {
    volumes,
    timeSeries: { target: 'tsdb', name: 'power.meters', rows: 1_200_000_000, ingestRowsPerSecond: 4_100 },
    redis: {
      target: 'cache1',
      usedBytes: 300 * MiB,
      hitRatePct: 92,
      ttlKeySharePct: 95,
      evictionPolicy: 'allkeys-lru',
    },
    mysql: {
      target: 'shop',
      nonInnoDbTables: 0,
      fullTextIndexes: 0,
      fullTextOnMyIsam: 0,
      spatialIndexes: 0,
      triggers: 0,
      routines: 0,
    },
    postgres: {
      target: 'pg1',
      up: true,
      timescaledbAvailable: true,
      health: { score: 88, band: 'good', coverage: 0.9, byCategory: {} },
    },
    queries: { timeSeries: 50, timeRange: 42 },
    ...overrides,
  };
}

describe('choosePlan — Plan A', () => {
  it('consolidates into PostgreSQL + TimescaleDB with reasons quoting the numbers', () => {
    const plan = choosePlan(facts());
    expect(plan.id).toBe('A');
    expect(plan.title).toBe('Consolidate into PostgreSQL (time series in TimescaleDB)');
    expect(plan.reasons).toContain(
      'TDengine power.meters (tsdb): 1.2 B rows ≤ 5 B rows limit, 4,100 rows/s ≤ 100,000 rows/s limit: fits PostgreSQL',
    );
    expect(plan.reasons).toContain(
      'MySQL shop: 1.5 GiB, 2.3 M rows in 2 tables, no blocking feature (0 FULLTEXT on MyISAM, 0 SPATIAL)',
    );
    expect(
      plan.reasons.some((r) => r.startsWith('Redis cache1 is a cache (maxmemory-policy allkeys-lru, 95 % of keys')),
    ).toBe(true);
    expect(plan.reasons.some((r) => r.includes('300 MiB ≤ 2 GiB limit: UNLOGGED tables and LISTEN/NOTIFY'))).toBe(true);
    expect(plan.reasons).toContain(
      'PostgreSQL pg1: up, health 88/100 (good), coverage 90 %, holds 3 GiB today; timescaledb available',
    );
    expect(plan.reasons).toContain(
      '1.2 B rows of power.meters go into a TimescaleDB hypertable (time chunks, compression)',
    );
    expect(plan.reasons).toContain(
      '42 of 50 time-series queries (84 %) filter on a time range (≥ 50 %): chunk/partition pruning serves them',
    );
  });

  it('orders reference data first, history, the time series last and the cache at cutover', () => {
    const { order } = choosePlan(facts());
    const at = (prefix: string) => order.findIndex((o) => o.startsWith(prefix));
    expect(order[0]).toContain('CREATE EXTENSION timescaledb');
    expect(at('Reference data first: MySQL shop (2 tables, 1.5 GiB)')).toBe(1);
    expect(at('History: backfill power.meters')).toBe(2);
    expect(at('Time series last')).toBe(3);
    expect(order[3]).toContain('4,100 rows/s');
    expect(at('At cutover, replace Redis cache1')).toBe(4);
    expect(at('Cutover:')).toBe(order.length - 1);
  });

  it('uses range partitions + BRIN without timescaledb, and warns about the size', () => {
    const plan = choosePlan(facts({ postgres: { target: 'pg1', up: true, timescaledbAvailable: false } }));
    expect(plan.id).toBe('A');
    expect(plan.title).toBe('Consolidate into PostgreSQL (time series in range partitions + BRIN)');
    expect(plan.order[0]).toContain('monthly range partitions and a BRIN index on time for power.meters');
    expect(plan.risks).toContain(
      "Without timescaledb there is no native compression: 1.2 B rows will take several times TDengine's 40 GiB on disk.",
    );
  });

  it('keeps a large Redis cache as a cache', () => {
    const plan = choosePlan(
      facts({ redis: { target: 'cache1', usedBytes: 8 * GiB, ttlKeySharePct: 10, evictionPolicy: 'volatile-lru' } }),
    );
    expect(plan.id).toBe('A');
    expect(plan.reasons.some((r) => r.includes('8 GiB > 2 GiB limit: it stays a cache in front of PostgreSQL'))).toBe(
      true,
    );
  });

  it('moves a small Redis store into logged tables and says it is data of record', () => {
    const plan = choosePlan(
      facts({ redis: { target: 'kv', usedBytes: 100 * MiB, ttlKeySharePct: 49, evictionPolicy: 'noeviction' } }),
    );
    expect(plan.id).toBe('A');
    expect(
      plan.reasons.some((r) => r.includes('is a store') && r.includes('49 % of keys with a TTL (cache from 50 %)')),
    ).toBe(true);
    expect(plan.risks.some((r) => r.includes('use logged tables, not UNLOGGED'))).toBe(true);
  });

  it('lists the risks of MySQL features that are not blocking, with their counts', () => {
    const plan = choosePlan(
      facts({
        mysql: {
          target: 'shop',
          nonInnoDbTables: 3,
          fullTextIndexes: 2,
          fullTextOnMyIsam: 0,
          spatialIndexes: 0,
          triggers: 12,
          routines: 4,
        },
      }),
    );
    expect(plan.id).toBe('A');
    expect(plan.risks).toContain(
      '12 triggers and 4 routines in MySQL shop must be rewritten in PL/pgSQL and retested.',
    );
    expect(plan.risks.some((r) => r.startsWith('3 non-InnoDB tables in MySQL shop'))).toBe(true);
    expect(plan.risks.some((r) => r.startsWith('2 FULLTEXT indexes become tsvector + GIN'))).toBe(true);
  });

  it('warns when ingest is within the limit but above 80 % of it, or not measured', () => {
    const near = choosePlan(
      facts({ timeSeries: { target: 'tsdb', name: 'power.meters', rows: 1e9, ingestRowsPerSecond: 90_000 } }),
    );
    expect(near.id).toBe('A');
    expect(near.risks.some((r) => r.startsWith('Ingest of 90,000 rows/s is 90 % of the 100,000 rows/s limit'))).toBe(
      true,
    );
    const unknown = choosePlan(facts({ timeSeries: undefined }));
    // Falls back to the largest TDengine table measured.
    expect(unknown.reasons[0]).toBe(
      'TDengine power.meters (tsdb): 1.2 B rows ≤ 5 B rows limit, ingest rate not measured (limit 100,000 rows/s): fits PostgreSQL',
    );
    expect(unknown.risks.some((r) => r.startsWith('The ingest rate of power.meters was not measured'))).toBe(true);
  });

  it('puts fixing an unhealthy PostgreSQL first', () => {
    const plan = choosePlan(
      facts({
        postgres: {
          target: 'pg1',
          up: true,
          timescaledbAvailable: true,
          health: { score: 59, band: 'fair', coverage: 1, byCategory: {}, cappedBy: ['pg1: pg.xid critical (x)'] },
        },
      }),
    );
    expect(plan.order[0]).toBe(
      'Fix PostgreSQL pg1 first (59/100, 1 capping finding): nothing moves onto an unhealthy target.',
    );
  });
});

describe('choosePlan — Plan B', () => {
  it('keeps TDengine when the time series has more rows than the limit', () => {
    const plan = choosePlan(
      facts({ timeSeries: { target: 'tsdb', name: 'power.meters', rows: 7_300_000_000, ingestRowsPerSecond: 4_100 } }),
    );
    expect(plan.id).toBe('B');
    expect(plan.title).toBe('PostgreSQL + TDengine: keep what the rules say cannot move');
    expect(plan.reasons[0]).toBe(
      'TDengine power.meters (tsdb): 7.3 B rows > 5 B rows limit, 4,100 rows/s ≤ 100,000 rows/s limit: too big for PostgreSQL',
    );
    expect(plan.order.some((o) => o.startsWith('Time series: power.meters stays in TDengine (7.3 B rows)'))).toBe(true);
    expect(plan.order.some((o) => o.startsWith('History:'))).toBe(false);
    expect(plan.risks.some((r) => r.startsWith('2 databases to operate'))).toBe(true);
  });

  it('keeps TDengine when ingest is faster than the limit, exactly at the limit is still A', () => {
    const fast = choosePlan(
      facts({ timeSeries: { target: 'tsdb', name: 'power.meters', rows: 1e9, ingestRowsPerSecond: 100_001 } }),
    );
    expect(fast.id).toBe('B');
    expect(fast.reasons[0]).toBe(
      'TDengine power.meters (tsdb): 1 B rows ≤ 5 B rows limit, 100,001 rows/s > 100,000 rows/s limit: too fast for PostgreSQL',
    );
    const edge = choosePlan(
      facts({ timeSeries: { target: 'tsdb', name: 'power.meters', rows: 5e9, ingestRowsPerSecond: 100_000 } }),
    );
    expect(edge.id).toBe('A');
  });

  it('quotes exact numbers when rounding would hide the excess', () => {
    const plan = choosePlan(
      facts({ timeSeries: { target: 'tsdb', name: 'm', rows: 5_000_000_001, ingestRowsPerSecond: 1 } }),
    );
    expect(plan.id).toBe('B');
    expect(plan.reasons[0]).toContain('5,000,000,001 rows > 5,000,000,000 rows limit');
  });

  it('keeps Redis when it is a store larger than the limit', () => {
    const plan = choosePlan(
      facts({
        redis: { target: 'kv', usedBytes: 6 * GiB, hitRatePct: 99, ttlKeySharePct: 2, evictionPolicy: 'noeviction' },
      }),
    );
    expect(plan.id).toBe('B');
    expect(plan.title).toBe('PostgreSQL + Redis: keep what the rules say cannot move');
    expect(plan.reasons[0]).toBe(
      'Redis kv is a store (maxmemory-policy noeviction, 2 % of keys with a TTL (cache from 50 %), hit rate 99 %) of 6 GiB > 2 GiB limit: too big to become PostgreSQL tables',
    );
  });

  it('keeps MySQL for blocking features, listing them with counts', () => {
    const plan = choosePlan(
      facts({
        mysql: {
          target: 'shop',
          nonInnoDbTables: 1,
          fullTextIndexes: 3,
          fullTextOnMyIsam: 3,
          spatialIndexes: 2,
          triggers: 0,
          routines: 0,
        },
      }),
    );
    expect(plan.id).toBe('B');
    expect(plan.title).toBe('PostgreSQL + MySQL: keep what the rules say cannot move');
    expect(plan.reasons[0]).toBe(
      'MySQL shop uses 3 FULLTEXT on MyISAM, 2 SPATIAL (blocking features per rules): those tables stay in MySQL',
    );
  });

  it('keeps every store that cannot move', () => {
    const plan = choosePlan(
      facts({
        timeSeries: { target: 'tsdb', name: 'power.meters', rows: 9e9, ingestRowsPerSecond: 250_000 },
        redis: { target: 'kv', usedBytes: 3 * GiB, evictionPolicy: 'noeviction' },
      }),
    );
    expect(plan.id).toBe('B');
    expect(plan.title).toBe('PostgreSQL + TDengine + Redis: keep what the rules say cannot move');
    expect(plan.reasons[0]).toContain('too big and too fast for PostgreSQL');
    expect(plan.risks.some((r) => r.startsWith('3 databases to operate'))).toBe(true);
  });
});
