/**
 * The MySQL/MariaDB assessment against the machine's real MariaDB, on a database the test creates: a MyISAM
 * table and a table without a primary key give exact schema findings; a hot and a cold InnoDB table show in the
 * usage counters sampled before and after a burst of reads; a user without privileges gets `unknown` findings
 * instead of guesses; a closed port and a wrong password are reported down, not thrown; and the database's
 * fingerprint is the same before and after everything the assessment does (it never writes).
 */
import { randomBytes } from 'node:crypto';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assessMysql,
  mysqlFingerprint,
  mysqlLivePatterns,
  mysqlRunProbe,
  mysqlUsageCounters,
} from '../../activities/mysql/assess';
import { ASSESSMENT_RULES } from '../../common/assessment/rules';
import type { CheckResult } from '../../common/contracts/assessment';
import { DbopsError, ErrorCode } from '../../common/errors';
import { freePort, SERVERS } from '../support/servers';

const suffix = randomBytes(4).toString('hex');
const DB = `dbops_assess_${suffix}`;
const USER = `dbops_assess_u_${suffix}`;
const USER_PASSWORD = `pw-${suffix}`;
const ROWS = { legacy: 3, no_pk: 5, hot: 50, cold: 7 };
const root = { url: `mysql://root@127.0.0.1:3306/${DB}` };
const rules = ASSESSMENT_RULES;

let admin: Connection;
/** userstat's value before the test, when the test had to turn it on for usage counters; else undefined. */
let userstatBefore: string | undefined;

async function globalVariable(name: string): Promise<string> {
  const [rows] = await admin.query<RowDataPacket[]>(`SELECT @@GLOBAL.${name} AS v`);
  return String(rows[0]?.v);
}

const byId = (findings: CheckResult[]): Record<string, CheckResult> =>
  Object.fromEntries(findings.map((f) => [f.id, f]));

/** The severity the rules give a ratio finding's value (recomputed here, independently of the module). */
function expectedSeverity(finding: CheckResult): string {
  const v = finding.value as number;
  const m = rules.mysql;
  switch (finding.id) {
    case 'mysql.connections':
      return v >= m.connectionsCriticalPct ? 'critical' : v > m.connectionsWarnPct ? 'warning' : 'ok';
    case 'mysql.buffer_pool_hit':
      return v < m.bufferPoolReadCriticalPct ? 'critical' : v < m.bufferPoolReadWarnPct ? 'warning' : 'ok';
    case 'mysql.tmp_disk_tables':
      return v > m.diskTempTablesCriticalPct ? 'critical' : v > m.diskTempTablesWarnPct ? 'warning' : 'ok';
    case 'mysql.thread_cache':
      return v < m.threadCacheWarnPct ? 'warning' : 'ok';
    case 'mysql.aborted_connects':
      return v > m.abortedConnectsWarnPct ? 'warning' : 'ok';
    case 'mysql.slow_queries':
      return v > m.slowQueriesWarnPct ? 'warning' : 'ok';
    default:
      throw new Error(`no ratio rule for ${finding.id}`);
  }
}

beforeAll(async () => {
  admin = await createConnection({ uri: SERVERS.mysql, supportBigNumbers: true, bigNumberStrings: true });
  await admin.query(`CREATE DATABASE \`${DB}\``);
  await admin.query(`USE \`${DB}\``);
  await admin.query(`CREATE TABLE legacy (id INT PRIMARY KEY, label VARCHAR(20)) ENGINE=MyISAM`);
  await admin.query(`CREATE TABLE no_pk (code VARCHAR(10), qty INT) ENGINE=InnoDB`);
  await admin.query(`CREATE TABLE hot (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB`);
  await admin.query(`CREATE TABLE cold (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB`);
  await admin.query(`CREATE VIEW hot_view AS SELECT id FROM hot`);
  for (const [table, n] of Object.entries(ROWS)) {
    const values = Array.from({ length: n }, (_, i) => (table === 'no_pk' ? [`c${i}`, i] : [i + 1, `v${i}`]));
    await admin.query(`INSERT INTO \`${table}\` VALUES ?`, [values]);
  }
  await admin.query(`CREATE USER '${USER}'@'127.0.0.1' IDENTIFIED BY '${USER_PASSWORD}'`);
  // Per-table counters need performance_schema (a restart to turn on) or MariaDB's userstat (dynamic).
  if ((await globalVariable('performance_schema')) !== '1' && (await globalVariable('userstat')) !== '1') {
    userstatBefore = '0';
    await admin.query('SET GLOBAL userstat = 1');
  }
});

afterAll(async () => {
  if (!admin) return;
  if (userstatBefore !== undefined) await admin.query(`SET GLOBAL userstat = ${userstatBefore}`);
  await admin.query(`DROP USER IF EXISTS '${USER}'@'127.0.0.1'`);
  await admin.query(`DROP DATABASE IF EXISTS \`${DB}\``);
  await admin.end();
});

describe('assessMysql', () => {
  it('finds the MyISAM table and the table without a primary key, judges the ratios by the rules, and changes nothing', async () => {
    const before = await mysqlFingerprint(root);
    const result = await assessMysql(root, 'shop', rules);
    expect(result.up).toBe(true);
    expect(result.version).toMatch(/MariaDB|^\d/);
    expect(result.findings.map((f) => f.id).sort()).toEqual(
      [
        'mysql.aborted_connects',
        'mysql.buffer_pool_hit',
        'mysql.connections',
        'mysql.fragmentation',
        'mysql.non_innodb_tables',
        'mysql.reachable',
        'mysql.replication',
        'mysql.slow_queries',
        'mysql.tables_without_pk',
        'mysql.thread_cache',
        'mysql.tmp_disk_tables',
        'mysql.version',
      ].sort(),
    );
    for (const f of result.findings) {
      expect(f).toMatchObject({ engine: 'mysql', target: 'shop' });
      expect(f.evidence.length).toBeGreaterThan(0);
    }
    const f = byId(result.findings);
    expect(f['mysql.reachable']).toMatchObject({ severity: 'ok', category: 'availability', value: 'up' });
    expect(f['mysql.version']).toMatchObject({ severity: 'ok', value: result.version });
    expect(f['mysql.replication']).toMatchObject({ severity: 'ok', value: 'not a replica' });
    expect(f['mysql.non_innodb_tables']).toMatchObject({ severity: 'warning', category: 'schema', count: 1, value: 1 });
    expect(f['mysql.non_innodb_tables']!.evidence).toContain(`${DB}.legacy (MyISAM)`);
    expect(f['mysql.non_innodb_tables']!.recommendation).toBeTruthy();
    expect(f['mysql.tables_without_pk']).toMatchObject({ severity: 'warning', category: 'schema', count: 1 });
    expect(f['mysql.tables_without_pk']!.evidence).toBe(`no primary key: ${DB}.no_pk`);
    expect(f['mysql.fragmentation']).toMatchObject({ severity: 'ok', count: 0, category: 'maintenance' });
    for (const id of [
      'mysql.connections',
      'mysql.buffer_pool_hit',
      'mysql.tmp_disk_tables',
      'mysql.thread_cache',
      'mysql.aborted_connects',
      'mysql.slow_queries',
    ]) {
      const finding = f[id]!;
      if (finding.severity === 'unknown') expect(finding.value).toBeNull();
      else {
        expect(typeof finding.value).toBe('number');
        expect(finding.severity).toBe(expectedSeverity(finding));
        expect(finding.threshold).toBeTruthy();
      }
    }
    expect(result.facts).toMatchObject({ tables: 4, uptimeSeconds: expect.any(Number) });

    // Volume: the four base tables (not the view), exact counts (all far below exactCountMaxRows), sizes.
    expect(result.volume?.engine).toBe('mysql');
    expect(result.volume?.tables.map((t) => [t.name, t.rows, t.rowsExact])).toEqual(
      ['cold', 'hot', 'legacy', 'no_pk'].map((t) => [`${DB}.${t}`, ROWS[t as keyof typeof ROWS], true]),
    );
    for (const t of result.volume!.tables) expect(t.dataBytes).toBeGreaterThan(0);
    expect(result.volume!.totalBytes).toBe(
      result.volume!.tables.reduce((sum, t) => sum + t.dataBytes + t.indexBytes, 0),
    );

    expect(await mysqlFingerprint(root)).toBe(before);
  });

  it('marks what a user without privileges cannot see as unknown, not as fine', async () => {
    const result = await assessMysql(
      { url: `mysql://${USER}@127.0.0.1:3306/${DB}`, password: USER_PASSWORD },
      'restricted',
      rules,
    );
    expect(result.up).toBe(true);
    const f = byId(result.findings);
    for (const id of ['mysql.non_innodb_tables', 'mysql.tables_without_pk', 'mysql.fragmentation']) {
      expect(f[id]).toMatchObject({ severity: 'unknown', value: null });
      expect(f[id]!.evidence).toMatch(new RegExp(`may not use database ${DB}.*grant it SELECT`));
    }
    expect(f['mysql.replication']).toMatchObject({ severity: 'unknown', value: null });
    expect(f['mysql.replication']!.evidence).toMatch(/SLAVE MONITOR|REPLICATION CLIENT|SUPER/);
    expect(f['mysql.reachable']?.severity).toBe('ok');
    expect(result.volume).toBeUndefined();
    // Without a source of counters the result is empty: the caller reports usage as unknown.
    expect(await mysqlUsageCounters({ url: `mysql://${USER}@127.0.0.1:3306/${DB}`, password: USER_PASSWORD })).toEqual(
      {},
    );
  });

  it('reports a closed port and a wrong password as down, without throwing', async () => {
    const port = await freePort();
    const down = await assessMysql({ url: `mysql://root@127.0.0.1:${port}/${DB}` }, 'gone', rules);
    expect(down.up).toBe(false);
    expect(down.findings).toHaveLength(1);
    expect(down.findings[0]).toMatchObject({ id: 'mysql.reachable', severity: 'critical', value: 'down' });
    expect(down.findings[0]!.evidence).toMatch(/cannot (connect|reach)/);
    expect(down.volume).toBeUndefined();

    const refused = await assessMysql(
      { url: `mysql://${USER}@127.0.0.1:3306/${DB}`, password: 'wrong-password' },
      'refused',
      rules,
    );
    expect(refused.up).toBe(false);
    expect(refused.findings[0]).toMatchObject({ id: 'mysql.reachable', severity: 'critical' });
    expect(refused.findings[0]!.evidence).toMatch(/authentication failed|Access denied/);
    expect(refused.findings[0]!.evidence).not.toContain('wrong-password');
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await expect(assessMysql(root, 'shop', rules, { signal: controller.signal })).rejects.toThrow('cancelled');
  });
});

describe('mysqlUsageCounters', () => {
  it('shows a hot table read between two samples and a cold one untouched', async () => {
    const first = await mysqlUsageCounters(root);
    expect(Object.keys(first).sort()).toEqual(['cold', 'hot', 'legacy', 'no_pk'].map((t) => `${DB}.${t}`));
    const started = Date.now();
    for (let i = 0; i < 20; i++) await admin.query(`SELECT * FROM \`${DB}\`.hot`);
    await admin.query(`UPDATE \`${DB}\`.hot SET v = 'changed' WHERE id = 1`);
    const second = await mysqlUsageCounters(root);
    const minutes = Math.max(Date.now() - started, 1) / 60_000;

    const delta = (name: string) => ({
      reads: second[`${DB}.${name}`]!.reads - first[`${DB}.${name}`]!.reads,
      writes: second[`${DB}.${name}`]!.writes - first[`${DB}.${name}`]!.writes,
    });
    const hot = delta('hot');
    const cold = delta('cold');
    expect(hot.reads).toBeGreaterThanOrEqual(20 * ROWS.hot);
    expect(hot.writes).toBeGreaterThanOrEqual(1);
    expect(cold).toEqual({ reads: 0, writes: 0 });
    // The same verdict the workflow draws from the rules' operations per minute.
    expect((hot.reads + hot.writes) / minutes).toBeGreaterThanOrEqual(rules.usage.hotOpsPerMinute);
    expect((cold.reads + cold.writes) / minutes).toBeLessThanOrEqual(rules.usage.coldOpsPerMinute);
  });
});

describe('mysqlLivePatterns, mysqlRunProbe, mysqlFingerprint', () => {
  it('returns statement digests, or says why there are none', async () => {
    const live = await mysqlLivePatterns(root, 5);
    if ((await globalVariable('performance_schema')) === '1') {
      expect(live.unknown).toBeUndefined();
      expect(live.patterns.length).toBeLessThanOrEqual(5);
    } else {
      expect(live).toEqual({ patterns: [], unknown: expect.stringMatching(/performance_schema is OFF/) });
    }
  });

  it('times a reading probe and refuses anything that could write or lock', async () => {
    const run = await mysqlRunProbe(root, 'SELECT * FROM hot WHERE id = 1', 5);
    expect(run.durationsMs).toHaveLength(5);
    for (const ms of run.durationsMs) expect(ms).toBeGreaterThanOrEqual(0);
    expect(run.rows).toBe(1);
    expect((await mysqlRunProbe(root, '/* range */ SELECT id FROM cold WHERE id <= 3', 2)).rows).toBe(3);

    for (const sql of [
      'DELETE FROM hot',
      'SELECT * FROM hot FOR UPDATE',
      'SELECT 1; DROP TABLE hot',
      `SELECT * FROM hot INTO OUTFILE '/tmp/x'`,
    ]) {
      const err = await mysqlRunProbe(root, sql, 1).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DbopsError);
      expect((err as DbopsError).code).toBe(ErrorCode.BadInput);
    }
    const [rows] = await admin.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${DB}\`.hot`);
    expect(Number(rows[0]?.n)).toBe(ROWS.hot);
  });

  it('keeps the fingerprint through usage, patterns and probes, and changes it on a write', async () => {
    const before = await mysqlFingerprint(root);
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    await mysqlUsageCounters(root);
    await mysqlLivePatterns(root);
    await mysqlRunProbe(root, 'SELECT COUNT(*) FROM legacy', 3);
    await assessMysql(root, 'shop', rules);
    expect(await mysqlFingerprint(root)).toBe(before);

    await admin.query(`INSERT INTO \`${DB}\`.cold (v) VALUES ('new')`);
    const afterInsert = await mysqlFingerprint(root);
    expect(afterInsert).not.toBe(before);
    await admin.query(`ALTER TABLE \`${DB}\`.legacy ADD COLUMN extra INT NULL`);
    expect(await mysqlFingerprint(root)).not.toBe(afterInsert);
  });
});
