/**
 * `assessEstate` end to end on the real servers: a seeded PostgreSQL database (a sequence near its max, a
 * table without a primary key, a hot table read throughout the run and a cold one), a MariaDB database with
 * a MyISAM table, a throwaway Redis without persistence, a SQLite file, and a PostgreSQL that is down. The
 * run completes; the findings, hot/cold classes, scores, backups and the plan are the ones the facts call
 * for; the reports are written; and no assessed database changed (fingerprints before and after).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mysqlFingerprint } from '../../activities/mysql/assess';
import { pgFingerprint } from '../../activities/postgres/assess';
import { createS3Client, ensureBucket } from '../../activities/s3/client';
import { ASSESS_WORKFLOW, type AssessResult } from '../../common/contracts/assessment';
import { dropBucket, freePort, ThrowawayRedis } from '../support/backup';
import { parseJson, runDbops } from '../support/cli';
import { TestDatabase } from '../support/migration';
import { SERVERS, withPg } from '../support/servers';
import { testConfig, testEnv, TestTemporal, uniqueName } from '../support/temporal';

describe('assessEstate', () => {
  let t: TestTemporal;
  const pg = new TestDatabase();
  const mysqlDb = uniqueName('dbops_as').replace(/-/g, '_');
  const bucket = uniqueName('dbops-assess');
  const dir = mkdtempSync(join(tmpdir(), 'dbops-assess-'));
  let redis: ThrowawayRedis;
  let env: Record<string, string>;
  let sqlitePath: string;
  let downUrl: string;

  beforeAll(async () => {
    t = await TestTemporal.connect();
    await pg.create();
    await pg.query(`
      CREATE TABLE hot (id int PRIMARY KEY, v text); INSERT INTO hot SELECT g, 'v' || g FROM generate_series(1, 500) g;
      CREATE TABLE cold (id int PRIMARY KEY, v text); INSERT INTO cold SELECT g, 'c' || g FROM generate_series(1, 200) g;
      CREATE TABLE events_log (at timestamptz, what text); INSERT INTO events_log SELECT now(), 'e' FROM generate_series(1, 50);
      CREATE SEQUENCE ticket_no MAXVALUE 100; SELECT setval('ticket_no', 99);
      ANALYZE;`);
    const my = await createConnection({ uri: SERVERS.mysql });
    await my.query(`CREATE DATABASE ${mysqlDb}`);
    await my.query(`CREATE TABLE ${mysqlDb}.countries (code char(2) PRIMARY KEY, name varchar(60)) ENGINE=InnoDB`);
    await my.query(`INSERT INTO ${mysqlDb}.countries VALUES ('fr','France'),('de','Germany'),('jp','Japan')`);
    await my.query(`CREATE TABLE ${mysqlDb}.legacy_log (id int PRIMARY KEY, msg text) ENGINE=MyISAM`);
    await my.end();
    redis = await ThrowawayRedis.start(dir);
    await redis.client.set('user:42', 'ada');
    await redis.client.set('session:9f1c', 'x', 'EX', 3600);
    sqlitePath = pg.sqliteFixture(
      'notes.db',
      "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'a');",
    );
    downUrl = `postgres://root@127.0.0.1:${await freePort()}/gone`;
    env = {
      DBOPS_ARTIFACT_DIR: join(dir, 'artifacts'),
      DBOPS_S3_BUCKET: bucket,
      DBOPS_CONNECTION_A_PG: pg.url,
      DBOPS_CONNECTION_A_MYSQL: `mysql://root@127.0.0.1:3306/${mysqlDb}`,
    };
    const s3 = createS3Client(testConfig(t.taskQueue, env).s3);
    await ensureBucket(s3, bucket);
    s3.destroy();
  });

  afterAll(async () => {
    await t?.cleanup();
    const s3 = createS3Client(testConfig('x', env).s3);
    await dropBucket(s3, bucket);
    s3.destroy();
    await redis?.stop();
    const my = await createConnection({ uri: SERVERS.mysql });
    await my.query(`DROP DATABASE IF EXISTS ${mysqlDb}`);
    await my.end();
    await pg.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('measures every database, classifies hot and cold, backs everything up, scores, plans and reports, changing nothing', async () => {
    const codeDir = join(dir, 'code');
    mkdirSync(codeDir);
    writeFileSync(
      join(codeDir, 'orders.py'),
      'def recent(cur):\n    cur.execute("SELECT h.id, h.v FROM hot h JOIN cold c ON c.id = h.id WHERE h.id > %s", (10,))\n' +
        'def mark(cur):\n    cur.execute("UPDATE events_log SET what = %s WHERE at < now()", ("done",))\n',
    );
    const pgEndpoint = { url: pg.url, label: 'a_pg' };
    const myServer = { url: `mysql://root@127.0.0.1:3306/${mysqlDb}` };
    const before = { pg: await pgFingerprint(pgEndpoint), mysql: await mysqlFingerprint(myServer) };

    // A workload that reads `hot` for the whole run (the usage window is 2 s), and never touches `cold`.
    let reading = true;
    const workload = (async () => {
      while (reading) await withPg(pg.url, (c) => c.query('SELECT count(*) FROM hot WHERE id < 100'));
    })();
    let result: AssessResult;
    try {
      result = await t.withWorker(
        () =>
          t.client.workflow.execute(ASSESS_WORKFLOW, {
            taskQueue: t.taskQueue,
            workflowId: t.workflowId('assess'),
            args: [
              {
                targets: ['a_pg', 'a_mysql', redis.url(), sqlitePath, downUrl],
                codeDirs: [codeDir],
                windowSeconds: 2,
                probeRuns: 5,
              },
            ],
          }) as Promise<AssessResult>,
        env,
      );
    } finally {
      reading = false;
      await workload;
    }

    expect(result.status).toBe('completed');
    const byTarget = Object.fromEntries(result.databases.map((d) => [d.target, d]));
    const severity = (target: string, id: string) => byTarget[target]?.findings.find((f) => f.id === id)?.severity;

    expect(byTarget.a_pg?.up).toBe(true);
    expect(severity('a_pg', 'pg.sequences')).toBe('critical');
    expect(severity('a_pg', 'pg.missing_primary_keys')).toBe('warning');
    expect(severity('a_mysql', 'mysql.non_innodb_tables')).not.toBe('ok');
    expect(byTarget.a_mysql?.findings.find((f) => f.id === 'mysql.non_innodb_tables')?.evidence).toContain(
      'legacy_log',
    );
    const redisName = Object.keys(byTarget).find((k) => k.startsWith('redis-'));
    expect(severity(redisName ?? '', 'redis.persistence')).toMatch(/warning|info/);
    const down = result.databases.find((d) => !d.up);
    expect(down?.findings.find((f) => f.id === 'pg.reachable')?.severity).toBe('critical');
    expect(down?.score.score).toBeLessThanOrEqual(59);
    expect(result.overall.cappedBy?.length).toBeGreaterThan(0);
    expect(result.overall.score).toBeLessThanOrEqual(59);

    // Volume: exact counts where cheap.
    const hotVolume = byTarget.a_pg?.volume?.tables.find((v) => v.name === 'public.hot');
    expect(hotVolume).toMatchObject({ rows: 500, rowsExact: true });

    // Hot and cold, from two samples of pg_stat_user_tables.
    const json = JSON.parse(
      readFileSync(result.reports[`database_assessment_${result.timestamp}.json`] ?? '', 'utf8'),
    ) as { usage: Record<string, { name: string; temperature: string }[]> };
    const pgUsage = Object.fromEntries((json.usage.a_pg ?? []).map((u) => [u.name, u.temperature]));
    // Query patterns from code, parsed: a join read and an update, with their tables and file.
    const code = (json as unknown as { codePatterns: { kind: string; tables: string[]; files?: string[] }[] })
      .codePatterns;
    expect(code.map((p) => [p.kind, [...p.tables].sort()])).toEqual([
      ['select', ['cold', 'hot']],
      ['update', ['events_log']],
    ]);
    expect(code[0]?.files?.[0]).toContain('orders.py');
    expect(pgUsage['public.hot']).toBe('hot');
    expect(pgUsage['public.cold']).toBe('cold');

    // Backups of every reachable database, verified, before the plan.
    expect(result.backup?.failed).toEqual([]);
    expect(result.backup?.backupIds.map((id) => id.split('/')[0]).sort()).toEqual(
      ['a_mysql', 'a_pg', redisName, 'sqlite-notes'].sort(),
    );
    // …and all of it in one archive, read back and verified locally and from S3.
    expect(result.backup?.archive?.s3).toMatch(
      new RegExp(`^s3://${bucket}/assessments/.*/backup_${result.timestamp}\\.tar\\.gz$`),
    );
    expect(result.backup?.archive?.files).toBeGreaterThan(8);
    expect(existsSync(result.backup?.archive?.path ?? '')).toBe(true);
    expect(result.plan?.id).toBe('A');
    expect(result.plan?.reasons.length).toBeGreaterThan(0);

    for (const name of [
      'DATABASE_ASSESSMENT_REPORT.md',
      'WEEK2_MIGRATION_PLAN.md',
      'performance_baseline.json',
      'sizes.svg',
    ])
      expect(existsSync(result.reports[name] ?? ''), name).toBe(true);
    const report = readFileSync(result.reports['DATABASE_ASSESSMENT_REPORT.md'] ?? '', 'utf8');
    expect(report).toContain('`pg.sequences`');
    expect(report).toContain('- written: events_log (1, in 1 file(s))');
    expect(result.reports['s3:DATABASE_ASSESSMENT_REPORT.md']).toMatch(new RegExp(`^s3://${bucket}/assessments/`));

    // Read-only: the assessed databases are as they were (the backups' scratch databases are elsewhere).
    expect(await pgFingerprint(pgEndpoint)).toBe(before.pg);
    expect(await mysqlFingerprint(myServer)).toBe(before.mysql);
  });

  it('dbops assess --wait --json prints one JSON object with the scores, findings, plan and report paths', async () => {
    const run = await t.withWorker(
      () =>
        runDbops(
          ['assess', sqlitePath, '--window', '1s', '--no-backup', '--wait', '--json'],
          testEnv(t.taskQueue, env),
        ),
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    const result = parseJson<AssessResult>(run);
    expect(result.databases.map((d) => [d.target, d.engine, d.up])).toEqual([['sqlite-notes', 'sqlite', true]]);
    expect(result.databases[0]?.findings.find((f) => f.id === 'sqlite.integrity')?.severity).toBe('ok');
    expect(result.backup).toBeUndefined();
    expect(result.plan?.id).toMatch(/^[AB]$/);
    expect(Object.keys(result.reports)).toContain('DATABASE_ASSESSMENT_REPORT.md');

    const refused = await runDbops(['assess', '--window', 'soon', '--json'], testEnv(t.taskQueue, env));
    expect(refused.code).toBe(2);
    expect(parseJson<{ error: { type: string } }>(refused).error.type).toBe('DBOPS_BAD_INPUT');
  });

  it('a database that goes down mid-run: the run completes, its later steps are reported, and no plan rests on a backup that failed', async () => {
    const fleeting = await ThrowawayRedis.start(dir);
    await fleeting.client.set('k:1', 'v');
    // The server goes down the moment the usage step first asks it for its counters (after the health step
    // saw it up): the server's own MONITOR stream says when.
    const monitor = await fleeting.client.monitor();
    monitor.on('error', () => undefined); // the server is stopped under it
    const usageAsked = new Promise<void>((resolve) =>
      monitor.on('monitor', (_time: string, args: string[]) => {
        if (args[0]?.toLowerCase() === 'info' && args[1]?.toLowerCase() === 'commandstats') resolve();
      }),
    );
    const result = await t.withWorker(async () => {
      const handle = await t.client.workflow.start(ASSESS_WORKFLOW, {
        taskQueue: t.taskQueue,
        workflowId: t.workflowId('assess-down'),
        args: [{ targets: [sqlitePath, fleeting.url()], windowSeconds: 3, probeRuns: 1 }],
      });
      await usageAsked;
      monitor.disconnect();
      await fleeting.stop();
      return (await handle.result()) as AssessResult;
    }, env);
    const redisDb = result.databases.find((d) => d.engine === 'redis');
    expect(redisDb?.up).toBe(true); // it answered the health step
    expect(result.backup?.failed.some((f) => f.startsWith(redisDb?.target ?? '?'))).toBe(true);
    expect(result.plan).toBeUndefined();
    const report = readFileSync(result.reports['DATABASE_ASSESSMENT_REPORT.md'] ?? '', 'utf8');
    expect(report).toContain('FAILED');
  });

  it('--poc: a time-series table on a scratch schema of the PostgreSQL (native partitions here), measured, then dropped', async () => {
    const result = await t.withWorker(
      () =>
        t.client.workflow.execute(ASSESS_WORKFLOW, {
          taskQueue: t.taskQueue,
          workflowId: t.workflowId('assess-poc'),
          args: [{ targets: ['a_pg'], windowSeconds: 1, probeRuns: 3, backup: false, poc: true, pocRows: 20_000 }],
        }) as Promise<AssessResult>,
      env,
    );
    expect(result.poc?.strategy).toBe('native-partitions');
    expect(result.poc?.rows).toBe(20_000);
    expect(result.poc?.insertRowsPerSecond).toBeGreaterThan(0);
    for (const q of result.poc?.queries ?? []) expect(q.p50Ms).toBeLessThanOrEqual(q.p99Ms);
    expect(readFileSync(result.reports['POC_VALIDATION_REPORT.md'] ?? '', 'utf8')).toContain('native-partitions');
    const left = await pg.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_namespace WHERE nspname LIKE 'dbops\\_poc\\_%'",
    );
    expect(Number(left[0]?.n)).toBe(0);
  });
});
