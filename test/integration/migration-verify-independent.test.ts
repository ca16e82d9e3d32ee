/**
 * Verification is independent of the COPY encoder: with the encoder broken on purpose for one target type
 * (`DBOPS_FAULT_ENCODE`, read by the import threads), every row still arrives, PostgreSQL accepts every
 * value, and only the content check can notice. It must: the run fails with DBOPS_VERIFY_MISMATCH naming the
 * table and the column, and the target is left as it was.
 */
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { summarizeFailure } from '../../scripts/cli/output';
import type { MigrationResult } from '../../common/contracts/migration';
import { runMigration, startMigration, TestDatabase } from '../support/migration';
import { TestTemporal } from '../support/temporal';

const FIXTURE = `
CREATE TABLE kinds (
  id INTEGER PRIMARY KEY, n INTEGER, d REAL, x NUMERIC, flag BOOLEAN, label TEXT, doc JSON, at DATETIME,
  day DATE, raw BLOB);
INSERT INTO kinds VALUES
  (1, 9007199254740993, 0.1 + 0.2, 0.1, 1, 'plain', '{"b": 1, "a": [1.50, 1e2]}', '2025-03-04 05:06:07',
   '2025-03-04', x'00ff10'),
  (2, -42, 1e-7, 123.456, 0, 'tab	and \\ backslash', '[{"k": "é"}]', '2025-03-04T05:06:07.123456+02:00',
   '1999-12-31', x''),
  (3, 7, 2.5, 12, 1, '', '{"z": null}', '2025-03-04 05:06', '2000-02-29', x'41'),
  (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
`;

/** The column each fault hits, with the type the plan gives it. */
const CASES = [
  ['bigint', 'n (bigint)'],
  ['double', 'd (double precision)'],
  ['numeric', 'x (numeric)'],
  ['boolean', 'flag (boolean)'],
  ['text', 'label (text)'],
  ['jsonb', 'doc (jsonb)'],
  ['timestamptz', 'at (timestamptz)'],
  ['date', 'day (date)'],
  ['bytea', 'raw (bytea)'],
] as const;

describe('verification catches an encoder broken for each target type', () => {
  let t: TestTemporal;
  let db: TestDatabase;
  let source: string;

  const migrate = () =>
    t.withWorker(() => runMigration(t, { source, target: db.url, schema: 'kinds', rollbackWindowMinutes: 0 }), {
      DBOPS_ARTIFACT_DIR: join(db.dir, 'artifacts'),
    });

  beforeAll(async () => {
    t = await TestTemporal.connect();
    db = await new TestDatabase().create();
    source = db.sqliteFixture('kinds.db', FIXTURE);
  });
  afterEach(() => {
    delete process.env.DBOPS_FAULT_ENCODE;
  });
  afterAll(async () => {
    await t.cleanup();
    await db.drop();
  });

  it('the fixture migrates and verifies with the encoder intact, every column its planned type', async () => {
    const { result, summaries } = await t.withWorker(
      async () => {
        const handle = await startMigration(t, { source, target: db.url, schema: 'kinds', rollbackWindowMinutes: 0 });
        const done = (await handle.result()) as MigrationResult;
        // The Web UI's timeline: each pipeline step says what it does.
        const events = (await handle.fetchHistory()).events ?? [];
        const said = events
          .map((e) => e.userMetadata?.summary?.data)
          .filter((data): data is Uint8Array => data instanceof Uint8Array)
          .map((data) => JSON.parse(Buffer.from(data).toString('utf8')) as string);
        return { result: done, summaries: said };
      },
      { DBOPS_ARTIFACT_DIR: join(db.dir, 'artifacts') },
    );
    expect(summaries).toEqual([
      'COPY kinds (the whole table)',
      'keys, indexes and sequence of kinds',
      'verify kinds: 4 rows, every column',
      'foreign keys and views',
    ]);
    expect(result.status).toBe('completed');
    expect(result.tables[0]).toMatchObject({ name: 'kinds', match: true, rowsSource: 4, rowsTarget: 4 });
    expect(Object.fromEntries(result.tables[0]?.columns.map((c) => [c.name, c.targetType]) ?? [])).toEqual({
      id: 'bigint',
      n: 'bigint',
      d: 'double precision',
      x: 'numeric',
      flag: 'boolean',
      label: 'text',
      doc: 'jsonb',
      at: 'timestamptz',
      day: 'date',
      raw: 'bytea',
    });
    await db.query('DROP SCHEMA kinds CASCADE');
  });

  it('texts that need COPY escapes in some key ranges and not in others arrive exactly', async () => {
    // The encoder escapes a text column only in the sub-ranges whose bytes hold a backslash, tab, newline or
    // carriage return: ranges of each kind, in chunks of several sub-ranges, must all arrive as they were.
    const mixed = db.sqliteFixture(
      'escapes.db',
      `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, doc JSON);
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
       INSERT INTO notes SELECT i,
         CASE WHEN i % 4999 = 0 THEN 'tab' || char(9) || 'nl' || char(10) || 'cr' || char(13) || 'bs\\' || i
              ELSE 'plain ' || i END,
         CASE WHEN i % 7001 = 0 THEN '{"k": "line\\nbreak"}' ELSE '{"k": ' || i || '}' END
       FROM n;`,
    );
    const result = await t.withWorker(
      () =>
        runMigration(t, { source: mixed, target: db.url, schema: 'notes', rollbackWindowMinutes: 0, chunkRows: 3000 }),
      { DBOPS_ARTIFACT_DIR: join(db.dir, 'artifacts') },
    );
    expect(result.tables[0]).toMatchObject({ name: 'notes', match: true, rowsSource: 20000, rowsTarget: 20000 });
    expect(
      await db.query("SELECT id, body, doc->>'k' AS k FROM notes.notes WHERE id IN (4998, 4999, 7001) ORDER BY id"),
    ).toEqual([
      { id: '4998', body: 'plain 4998', k: '4998' },
      { id: '4999', body: 'tab\tnl\ncr\rbs\\4999', k: '4999' },
      { id: '7001', body: 'plain 7001', k: 'line\nbreak' },
    ]);
    await db.query('DROP SCHEMA notes CASCADE');
  });

  it.each(CASES)(
    'a %s encoder fault fails the run with DBOPS_VERIFY_MISMATCH naming kinds.%s',
    async (kind, column) => {
      const before = await db.schemas();
      process.env.DBOPS_FAULT_ENCODE = kind;
      const error = await migrate().catch((err: unknown) => err);
      expect(error).toBeInstanceOf(WorkflowFailedError);
      const { type, message } = summarizeFailure(error);
      expect(type).toBe('DBOPS_VERIFY_MISMATCH');
      expect(message).toContain('verification failed: kinds ');
      expect(message).toContain(column);
      expect(await db.schemas()).toEqual(before);
    },
  );
});
