/**
 * Values and SQL text that must arrive exactly, and steps that must not trip over themselves: a double in
 * a column that also holds text keeps every digit; SQL taken from the SQLite file runs one statement at a
 * time (a view that smuggles `; DROP …` runs nothing); a `null` or mistyped input fails at once naming the
 * field; two attempts of one import chunk (a stale one and its retry) leave it imported once.
 */
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaging } from '../../activities/migration/create-staging';
import { importChunk } from '../../activities/migration/import-chunk';
import { exportInThreads } from '../../activities/migration/source-thread';
import { MIGRATION_WORKFLOW, type MigrationResult } from '../../common/contracts/migration';
import { schemaNames } from '../../common/schema-names';
import { summarizeFailure } from '../../scripts/cli/output';
import { runMigration, TestDatabase } from '../support/migration';
import { TestTemporal } from '../support/temporal';

describe('exact values, one statement at a time, robust steps', () => {
  let t: TestTemporal;
  let db: TestDatabase;

  beforeAll(async () => {
    t = await TestTemporal.connect();
    db = await new TestDatabase().create();
  });
  afterAll(async () => {
    await t.cleanup();
    await db.drop();
  });

  const migrate = (source: string, schema: string) =>
    t.withWorker(() => runMigration(t, { source, target: db.url, schema, rollbackWindowMinutes: 0 }), {
      DBOPS_ARTIFACT_DIR: join(db.dir, 'artifacts'),
    });

  it('a REAL in a column that also holds text arrives with every digit, and reads back as the same double', async () => {
    const source = db.sqliteFixture(
      'mixed.db',
      `CREATE TABLE m (id INTEGER PRIMARY KEY, v);
       INSERT INTO m VALUES (1, 0.1 + 0.2), (2, 'text'), (3, 1.0), (4, 12345678901234567890.0), (5, -0.0), (6, 5), (7, 1e-7), (8, 9e999);`,
    );
    const result = await migrate(source, 'mixed');
    expect(result.status).toBe('completed');
    expect(result.tables[0]?.columns.find((c) => c.name === 'v')?.targetType).toBe('text');
    const rows = await db.query<{ id: string; v: string }>('SELECT id, v FROM mixed.m ORDER BY id');
    expect(rows.map((r) => r.v)).toEqual([
      '0.30000000000000004',
      'text',
      '1.0',
      '12345678901234567000.0',
      '-0.0', // SQLite's own CAST says 0.0: the sign is lost
      '5',
      '1e-7',
      'Inf',
    ]);
    expect(Number(rows[0]?.v)).toBe(0.1 + 0.2);
  });

  it('NUMERIC(10,2) stays numeric(10,2) when every value fits; a value that does not forces plain numeric, named', async () => {
    const source = db.sqliteFixture(
      'money.db',
      `CREATE TABLE price (id INTEGER PRIMARY KEY, fits NUMERIC(10,2), overflows NUMERIC(10,2));
       INSERT INTO price VALUES (1, 12.5, 1.25), (2, 99999999.99, 0.1 + 0.2), (3, 7, NULL);`,
    );
    const result = await migrate(source, 'money');
    const columns = result.tables[0]?.columns ?? [];
    expect(columns.find((c) => c.name === 'fits')).toMatchObject({ targetType: 'numeric(10,2)' });
    expect(columns.find((c) => c.name === 'overflows')).toMatchObject({ targetType: 'numeric' });
    expect(columns.find((c) => c.name === 'overflows')?.reason).toContain(
      'declared NUMERIC(10,2) but 0.30000000000000004 has 17 digits after the point',
    );
    expect(
      await db.query('SELECT fits::text AS fits, overflows::text AS overflows FROM money.price ORDER BY id'),
    ).toEqual([
      { fits: '12.50', overflows: '1.25' },
      { fits: '99999999.99', overflows: '0.30000000000000004' },
      { fits: '7.00', overflows: null },
    ]);
  });

  it('mixed-case names used unquoted in index expressions, predicates, CHECKs, views and REFERENCES resolve as in SQLite', async () => {
    const source = db.sqliteFixture(
      'case.db',
      `CREATE TABLE Account (Id INTEGER PRIMARY KEY, UserName TEXT NOT NULL, Active BOOLEAN, Balance REAL CHECK (balance >= 0));
       CREATE UNIQUE INDEX account_lower_name ON Account (lower(username));
       CREATE INDEX active_accounts ON account (UserName) WHERE active = 1;
       CREATE TABLE Payment (id INTEGER PRIMARY KEY, account_id INTEGER REFERENCES ACCOUNT(ID), amount REAL);
       CREATE VIEW RichAccounts AS SELECT username AS Name, BALANCE FROM account WHERE balance > 100;
       INSERT INTO Account VALUES (1, 'Ada', 1, 150.0), (2, 'bob', 0, 5.0);
       INSERT INTO Payment VALUES (1, 1, 10.0);`,
    );
    const result = await migrate(source, 'cased');
    expect(result.status).toBe('completed');
    expect(result.warnings.filter((w) => /not created/.test(w))).toEqual([]);
    const indexes = await db.query<{ indexname: string; indexdef: string }>(
      "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'cased' AND indexname IN ('account_lower_name', 'active_accounts') ORDER BY 1",
    );
    expect(indexes.map((i) => i.indexdef)).toEqual([
      'CREATE UNIQUE INDEX account_lower_name ON cased."Account" USING btree (lower("UserName"))',
      'CREATE INDEX active_accounts ON cased."Account" USING btree ("UserName") WHERE ("Active" = true)',
    ]);
    const constraints = await db.query<{ def: string }>(
      "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE connamespace = 'cased'::regnamespace AND contype IN ('c', 'f') ORDER BY 1",
    );
    expect(constraints.map((c) => c.def)).toEqual([
      'CHECK (("Balance" >= (0)::double precision))',
      'FOREIGN KEY (account_id) REFERENCES cased."Account"("Id")',
    ]);
    expect(await db.query('SELECT * FROM cased."RichAccounts"')).toEqual([{ name: 'Ada', Balance: 150 }]);
    await expect(db.query(`INSERT INTO cased."Account" VALUES (3, 'ADA', true, 1)`)).rejects.toThrow(/duplicate key/);
  });

  it('a view whose SQL smuggles a second statement is not created and runs nothing; the run reports it', async () => {
    await db.query('CREATE TABLE public.victim (id int); INSERT INTO public.victim VALUES (1)');
    const source = db.sqliteFixture(
      'crafted.db',
      "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');",
    );
    // A crafted file: the view's stored SQL carries a second statement (SQLite itself never stores one).
    const crafted = new Database(source);
    try {
      crafted.unsafeMode(true);
      crafted.pragma('writable_schema = ON');
      crafted
        .prepare(
          "INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES ('view', 'sneaky', 'sneaky', 0, ?)",
        )
        .run('CREATE VIEW sneaky AS SELECT 1 AS one; DROP TABLE public.victim');
    } finally {
      crafted.close();
    }
    const result: MigrationResult = await migrate(source, 'crafted');
    expect(result.status).toBe('completed');
    expect(result.warnings.join('\n')).toMatch(/view sneaky not created .*cannot insert multiple commands/);
    expect(await db.query('SELECT id FROM public.victim')).toEqual([{ id: 1 }]);
    await db.query('DROP TABLE public.victim');
  });

  it.each([
    ['a null input', null, /the input must be one JSON object/],
    [
      'a string for a boolean',
      { source: '/x.db', target: 'local_pg', requireApproval: 'false' },
      /requireApproval must be true or false/,
    ],
    [
      'a misspelt field',
      { source: '/x.db', target: 'local_pg', rollbackWindow: 5 },
      /unknown field\(s\) "rollbackWindow"/,
    ],
    [
      'an out-of-range number',
      { source: '/x.db', target: 'local_pg', concurrency: 0 },
      /concurrency must be a whole number from 1 to 32, got 0/,
    ],
  ])('%s fails at once with DBOPS_BAD_INPUT naming the field', async (_label, input, message) => {
    const error = await t.withWorker(() =>
      t.client.workflow
        .execute(MIGRATION_WORKFLOW, { workflowId: t.workflowId('bad-input'), taskQueue: t.taskQueue, args: [input] })
        .catch((err: unknown) => err),
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(summarizeFailure(error).type).toBe('DBOPS_BAD_INPUT');
    expect(summarizeFailure(error).message).toMatch(message);
  });

  it('a chunk that fails for good cancels the chunks still running before the staging schema is dropped', async () => {
    const source = db.sqliteFixture(
      'lanes.db',
      `CREATE TABLE a_big (id INTEGER PRIMARY KEY, v TEXT);
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
       INSERT INTO a_big SELECT i, printf('%0100d', i) FROM n;
       CREATE TABLE b_bad (id INTEGER PRIMARY KEY, doc JSON);
       INSERT INTO b_bad VALUES (1, '{"a": 1e200000}');`, // valid JSON, but jsonb cannot hold that number
    );
    const before = await db.schemas();
    const handle = await t.client.workflow.start(MIGRATION_WORKFLOW, {
      workflowId: t.workflowId('lanes'),
      taskQueue: t.taskQueue,
      args: [{ source, target: db.url, schema: 'lanes', chunkRows: 500_000, concurrency: 2 }],
    });
    const error = await t.withWorker(() => handle.result().catch((err: unknown) => err), {
      DBOPS_ARTIFACT_DIR: join(db.dir, 'artifacts'),
    });
    expect(summarizeFailure(error)).toMatchObject({ type: 'DBOPS_BAD_INPUT' });
    expect(summarizeFailure(error).message).toContain('b_bad: PostgreSQL rejected a value (22003');
    expect(await db.schemas()).toEqual(before);
    // Every import chunk (the failed one, and the big one that was still running) had ended before the
    // compensation dropped the staging schema: none was still writing into it.
    const events = (await handle.fetchHistory()).events ?? [];
    const importIds = events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'migrationImportChunk')
      .map((e) => Number(e.eventId));
    const closedAt = importIds.map((id) =>
      events.findIndex((e) =>
        [
          e.activityTaskCompletedEventAttributes,
          e.activityTaskFailedEventAttributes,
          e.activityTaskCanceledEventAttributes,
        ].some((a) => a && Number(a.scheduledEventId) === id),
      ),
    );
    const dropAt = events.findIndex(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'migrationDropSchema',
    );
    expect(importIds).toHaveLength(2);
    expect(closedAt.every((at) => at > 0 && at < dropAt)).toBe(true);
    expect(events.some((e) => e.activityTaskCancelRequestedEventAttributes)).toBe(true);
  });

  it('two attempts of the same chunk at once (a stale one and its retry): imported once, both report it done', async () => {
    const source = db.sqliteFixture(
      'twice.db',
      `CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT);
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)
       INSERT INTO big SELECT i, printf('row %08d', i) FROM n;`,
    );
    const plan = await exportInThreads(source, { strict: false, chunkRows: 100_000 }, 1, () => undefined);
    const table = plan.tables[0];
    const chunk = table?.chunks[0];
    if (!table || !chunk) throw new Error('the plan has no chunk');
    const names = schemaNames('twice', 'abcd1234');
    const pool = new pg.Pool({ connectionString: db.url, max: 4 });
    try {
      await createStaging(pool, names, plan, 'test-run', false);
      const attempts = await Promise.all(
        [1, 2].map(() => importChunk(pool, names.staging, source, table, chunk, () => undefined)),
      );
      expect(attempts.map((a) => a.rows)).toEqual([60_000, 60_000]);
      expect(attempts.filter((a) => a.skipped)).toHaveLength(1);
      const [count] = (await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${names.staging}.big`)).rows;
      expect(count?.n).toBe('60000');
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS ${names.staging} CASCADE`);
      await pool.end();
    }
  });
});
