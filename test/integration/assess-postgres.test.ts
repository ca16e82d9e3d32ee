/**
 * `assessPostgres` and its helpers on the machine's real PostgreSQL: a database this file creates, seeded so
 * that checks fire (an unused index, dead tuples, a sequence near its maximum, a table without a primary key,
 * a table never analyzed, a hot and a cold table), then dropped. Proves the assessment is read-only (the
 * session refuses writes; the catalog/counter fingerprint is unchanged), that a user without
 * pg_read_all_stats gets `unknown` instead of false comfort, and that a down server is a finding, not a throw.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assessPostgres,
  type PgAssessment,
  pgDefaultProbes,
  pgFingerprint,
  pgLivePatterns,
  pgRunProbe,
  pgUsageCounters,
  withAssessSession,
} from '../../activities/postgres/assess';
import { ASSESSMENT_RULES, type AssessmentRules } from '../../common/assessment/rules';
import type { CheckResult } from '../../common/contracts/assessment';
import { SERVERS, withPg } from '../support/servers';

const suffix = randomBytes(4).toString('hex');
const DB = `dbops_assess_${suffix}`;
const ROLE = `dbops_assess_ro_${suffix}`;
const url = `postgres://root@127.0.0.1:5432/${DB}`;
const endpoint = { url, label: 'assess-test' };
/** The shipped rules, except that any unused non-unique index counts (the seeded one is a few kB). */
const RULES: AssessmentRules = {
  ...ASSESSMENT_RULES,
  postgres: { ...ASSESSMENT_RULES.postgres, unusedIndexMinBytes: 0 },
};

/** Every check that runs on a primary, in the order the assessment reports them. */
const PRIMARY_IDS = [
  'pg.reachable',
  'pg.version',
  'pg.uptime',
  'pg.role',
  'pg.replication_slots',
  'pg.connections',
  'pg.cache_hit',
  'pg.long_queries',
  'pg.idle_in_transaction',
  'pg.xid_age',
  'pg.sequences',
  'pg.invalid_indexes',
  'pg.unused_indexes',
  'pg.dead_tuples',
  'pg.vacuum_stale',
  'pg.missing_primary_keys',
  'pg.tables_without_stats',
  'pg.settings',
];

function finding(result: PgAssessment, id: string): CheckResult {
  const f = result.findings.find((x) => x.id === id);
  if (!f) throw new Error(`no finding ${id} in ${result.findings.map((x) => x.id).join(', ')}`);
  return f;
}

/** Runs statements on the test database as root, then flushes this session's statistics to the shared views. */
async function seed(statements: string[]): Promise<void> {
  await withPg(url, async (c) => {
    for (const sql of statements) await c.query(sql);
    // Counters reach pg_stat_* when a backend flushes; force it now rather than wait for one.
    await c.query('SELECT pg_stat_force_next_flush()');
    await c.query('SELECT 1');
  });
}

/** A TCP port on 127.0.0.1 with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('assessPostgres', () => {
  beforeAll(async () => {
    await withPg(SERVERS.postgres, (c) => c.query(`CREATE DATABASE ${DB}`));
    await seed([
      // Autovacuum off everywhere: nothing may vacuum or analyze behind the test's back.
      `CREATE TABLE hot (id int PRIMARY KEY, v text NOT NULL) WITH (autovacuum_enabled = off)`,
      `INSERT INTO hot SELECT g, 'v' || g FROM generate_series(1, 1000) g`,
      `CREATE TABLE cold (id int PRIMARY KEY, note text) WITH (autovacuum_enabled = off)`,
      `INSERT INTO cold SELECT g, 'note ' || g FROM generate_series(1, 1000) g`,
      `CREATE INDEX cold_note_idx ON cold (note)`,
      `CREATE TABLE churn (id int PRIMARY KEY, payload text NOT NULL) WITH (autovacuum_enabled = off)`,
      `INSERT INTO churn SELECT g, md5(g::text) FROM generate_series(1, 30000) g`,
      `CREATE TABLE nopk (a int, b text) WITH (autovacuum_enabled = off)`,
      `INSERT INTO nopk SELECT g, 'b' FROM generate_series(1, 100) g`,
      `CREATE TABLE nostats (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = off)`,
      `INSERT INTO nostats SELECT g, g FROM generate_series(1, 5000) g`,
      `CREATE SEQUENCE s MAXVALUE 100`,
      `SELECT setval('s', 99)`,
    ]);
    // A separate session, once the inserts' counters are flushed: ANALYZE sets n_live_tup, and counters still
    // pending in the inserting backend would be added on top of it.
    await seed([
      `ANALYZE hot, cold, churn, nopk`,
      // Half of churn dies after its ANALYZE: 15,000 dead of 30,000.
      `DELETE FROM churn WHERE id % 2 = 0`,
    ]);
  });

  afterAll(async () => {
    await withPg(SERVERS.postgres, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${ROLE}`);
    });
  });

  it('runs every statement on a read-only session with the rules’ timeouts', async () => {
    const settings = await withAssessSession(endpoint, async (c) => {
      const { rows } = await c.query<{ ro: string; st: string; lt: string; app: string }>(
        `SELECT current_setting('transaction_read_only') AS ro, current_setting('statement_timeout') AS st,
                current_setting('lock_timeout') AS lt, current_setting('application_name') AS app`,
      );
      return rows[0];
    });
    expect(settings).toEqual({ ro: 'on', st: '5s', lt: '1s', app: 'dbops-assess' });
    for (const write of ['CREATE TABLE intruder (i int)', 'INSERT INTO hot VALUES (0, $$x$$)', "SELECT nextval('s')"]) {
      await expect(withAssessSession(endpoint, (c) => c.query(write))).rejects.toMatchObject({ code: '25006' });
    }
    const quick = { ...RULES, statementTimeoutMs: 200 };
    await expect(
      withAssessSession(endpoint, (c) => c.query('SELECT pg_sleep(2)'), { rules: quick }),
    ).rejects.toMatchObject({ code: '57014' });
  });

  it('finds exactly the seeded problems, and changes nothing', async () => {
    const before = await pgFingerprint(endpoint);
    const result = await assessPostgres(endpoint, 'assess-test', RULES);
    expect(await pgFingerprint(endpoint)).toBe(before);

    expect(result.up).toBe(true);
    expect(result.version).toMatch(/^\d+/);
    expect(result.findings.map((f) => f.id)).toEqual(PRIMARY_IDS);
    for (const f of result.findings) {
      expect(f).toMatchObject({ engine: 'postgres', target: 'assess-test' });
      expect(f.evidence.length).toBeGreaterThan(0);
    }
    const verdicts = Object.fromEntries(
      [
        'pg.reachable',
        'pg.role',
        'pg.sequences',
        'pg.invalid_indexes',
        'pg.unused_indexes',
        'pg.dead_tuples',
        'pg.vacuum_stale',
        'pg.missing_primary_keys',
        'pg.tables_without_stats',
        'pg.xid_age',
      ].map((id) => [id, finding(result, id).severity]),
    );
    expect(verdicts).toEqual({
      'pg.reachable': 'ok',
      'pg.role': 'ok',
      'pg.sequences': 'critical',
      'pg.invalid_indexes': 'ok',
      'pg.unused_indexes': 'warning',
      'pg.dead_tuples': 'warning',
      'pg.vacuum_stale': 'ok',
      'pg.missing_primary_keys': 'warning',
      'pg.tables_without_stats': 'warning',
      'pg.xid_age': 'ok',
    });
    // A superuser sees every session: these are measured, whatever other test files are doing.
    for (const id of ['pg.long_queries', 'pg.idle_in_transaction', 'pg.connections']) {
      expect(finding(result, id).severity).not.toBe('unknown');
    }
    expect(finding(result, 'pg.sequences')).toMatchObject({ value: 99, count: 1 });
    expect(finding(result, 'pg.sequences').evidence).toContain('public.s 99/100');
    expect(finding(result, 'pg.unused_indexes')).toMatchObject({ value: 1, count: 1 });
    expect(finding(result, 'pg.unused_indexes').evidence).toContain('public.cold_note_idx on cold');
    expect(finding(result, 'pg.dead_tuples')).toMatchObject({ count: 1 });
    expect(finding(result, 'pg.dead_tuples').evidence).toContain('public.churn 15000 dead / 15000 live (50.0 %)');
    expect(finding(result, 'pg.missing_primary_keys')).toMatchObject({ count: 1, evidence: 'public.nopk' });
    expect(finding(result, 'pg.tables_without_stats').evidence).toContain('public.nostats (~5000 rows)');
    expect(finding(result, 'pg.role').value).toBe('primary');
    expect(result.facts).toMatchObject({ reachable: true, superuser: true, in_recovery: false, database: DB });

    // Volume: every table counted exactly (all under exactCountMaxRows), sizes from the server.
    const volume = result.volume;
    expect(volume).toMatchObject({ target: 'assess-test', engine: 'postgres' });
    expect(volume?.totalBytes).toBeGreaterThan(0);
    const byName = Object.fromEntries((volume?.tables ?? []).map((t) => [t.name, t]));
    expect(Object.keys(byName).sort()).toEqual([
      'public.churn',
      'public.cold',
      'public.hot',
      'public.nopk',
      'public.nostats',
    ]);
    expect(byName['public.churn']).toMatchObject({ rows: 15000, rowsExact: true });
    expect(byName['public.hot']).toMatchObject({ rows: 1000, rowsExact: true });
    expect(byName['public.nostats']).toMatchObject({ rows: 5000, rowsExact: true });
    expect(byName['public.churn']?.dataBytes).toBeGreaterThan(0);
    expect(byName['public.cold']?.indexBytes).toBeGreaterThan(0);
  });

  it('keeps estimates where counting is not allowed, and never counts a table over the limit', async () => {
    const result = await assessPostgres(endpoint, 'assess-test', { ...RULES, exactCountMaxRows: 2000 });
    const byName = Object.fromEntries((result.volume?.tables ?? []).map((t) => [t.name, t]));
    expect(byName['public.hot']).toMatchObject({ rows: 1000, rowsExact: true });
    // churn's estimate (30,000 rows analyzed, n_live_tup 15,000) is over 2,000: statistics only.
    expect(byName['public.churn']?.rowsExact).toBe(false);
    expect(byName['public.churn']?.rows).toBeGreaterThanOrEqual(15000);
    expect(byName['public.nostats']?.rowsExact).toBe(false);
  });

  it('tells hot from cold tables with two usage samples', async () => {
    const first = await pgUsageCounters(endpoint);
    await withPg(url, async (c) => {
      for (let id = 1; id <= 50; id += 1) await c.query('SELECT v FROM hot WHERE id = $1', [id]);
      await c.query('SELECT pg_stat_force_next_flush()');
      await c.query('SELECT 1');
    });
    const second = await pgUsageCounters(endpoint);
    expect(Object.keys(second).sort()).toEqual([
      'public.churn',
      'public.cold',
      'public.hot',
      'public.nopk',
      'public.nostats',
    ]);
    expect((second['public.hot']?.reads ?? 0) - (first['public.hot']?.reads ?? 0)).toBe(50);
    expect(second['public.cold']).toEqual(first['public.cold']);
    expect(second['public.hot']?.writes).toBe(first['public.hot']?.writes);
    expect(first['public.churn']?.writes).toBe(45000); // 30,000 inserted + 15,000 deleted
  });

  it('derives probes on real keys and times them read-only', async () => {
    const probes = await pgDefaultProbes(endpoint, 2);
    expect(probes.map((p) => p.name)).toEqual([
      'public.churn pk lookup',
      'public.churn range scan',
      'public.nostats pk lookup',
      'public.nostats range scan',
    ]);
    const lookup = await pgRunProbe(endpoint, probes[0]?.sql ?? '', 5);
    expect(lookup.durationsMs).toHaveLength(5);
    expect(lookup.rows).toBe(1);
    expect((await pgRunProbe(endpoint, probes[1]?.sql ?? '', 2)).rows).toBe(100);
    await expect(pgRunProbe(endpoint, 'DELETE FROM hot', 1)).rejects.toMatchObject({ code: '25006' });
    // One statement only: the second could not be smuggled in after a harmless first.
    await expect(pgRunProbe(endpoint, 'SELECT 1; SELECT 2', 1)).rejects.toThrow();
  });

  it('reports live patterns as unknown, with the reason, when pg_stat_statements is unavailable', async () => {
    const absent = await pgLivePatterns(endpoint);
    expect(absent.patterns).toEqual([]);
    expect(absent.unknown).toMatch(/pg_stat_statements is not installed/);
  });

  it('says unknown, not ok, where a user without pg_read_all_stats cannot see', async () => {
    await withPg(SERVERS.postgres, (c) => c.query(`CREATE ROLE ${ROLE} LOGIN`));
    // A session of another user (root) stays open while the role looks: it must be hidden from it.
    await withPg(url, async () => {
      const result = await assessPostgres(
        { url: `postgres://${ROLE}@127.0.0.1:5432/${DB}`, label: 'restricted' },
        'restricted',
        RULES,
      );
      expect(result.up).toBe(true);
      expect(result.facts).toMatchObject({ superuser: false, read_all_stats: false });
      expect(result.findings.map((f) => f.id)).toEqual(PRIMARY_IDS);
      const severities = Object.fromEntries(result.findings.map((f) => [f.id, f.severity]));
      expect(severities).toMatchObject({
        'pg.long_queries': 'unknown',
        'pg.idle_in_transaction': 'unknown',
        'pg.sequences': 'unknown',
        // Catalogs and table statistics are public: these still measure.
        'pg.missing_primary_keys': 'warning',
        'pg.unused_indexes': 'warning',
        'pg.xid_age': 'ok',
      });
      expect(finding(result, 'pg.long_queries').evidence).toMatch(/hidden \(<insufficient privilege>\)/);
      expect(finding(result, 'pg.sequences').evidence).toMatch(/not readable by this user/);
      // No SELECT on the tables: every row count stays an estimate.
      expect(result.volume?.tables.every((t) => !t.rowsExact)).toBe(true);
      expect(result.facts.tables_count_failed).toBe(5);
    });
  });

  it('reports a down server as up:false with one critical pg.reachable, without throwing', async () => {
    const port = await closedPort();
    const result = await assessPostgres(
      { url: `postgres://root@127.0.0.1:${port}/postgres`, label: 'nothing-there' },
      'nothing-there',
      RULES,
    );
    expect(result.up).toBe(false);
    expect(result.version).toBeUndefined();
    expect(result.findings).toHaveLength(1);
    expect(result.findings[0]).toMatchObject({
      id: 'pg.reachable',
      severity: 'critical',
      category: 'availability',
      value: 'down',
    });
    expect(result.findings[0]?.evidence).toMatch(/ECONNREFUSED/);
  });

  it('stops when aborted', async () => {
    await expect(
      assessPostgres(endpoint, 'assess-test', RULES, { signal: AbortSignal.abort(new Error('stop')) }),
    ).rejects.toThrow('stop');
    const controller = new AbortController();
    const running = assessPostgres(endpoint, 'assess-test', RULES, { signal: controller.signal });
    controller.abort(new Error('cancelled'));
    await expect(running).rejects.toThrow('cancelled');
  });

  it('the fingerprint does see a write, and an unloaded pg_stat_statements is unknown too', async () => {
    const before = await pgFingerprint(endpoint);
    await seed([`INSERT INTO hot VALUES (1001, 'new')`]);
    expect(await pgFingerprint(endpoint)).not.toBe(before);
    // Installed in the database but not in shared_preload_libraries: the view refuses to be read.
    await seed(['CREATE EXTENSION IF NOT EXISTS pg_stat_statements']);
    const unloaded = await pgLivePatterns(endpoint);
    expect(unloaded.patterns).toEqual([]);
    expect(unloaded.unknown).toMatch(/pg_stat_statements cannot be read: .*shared_preload_libraries/);
  });
});
