/**
 * SQLite → PostgreSQL edge cases as fixture tables: each asserts the exact values that
 * arrive in PostgreSQL (not only counts), or that the run fails before the target is touched, naming the
 * table, column and row.
 */
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeFailure } from '../../scripts/cli/output';
import type { MigrationResult } from '../../common/contracts/migration';
import { runMigration, TestDatabase } from '../support/migration';
import { TestTemporal } from '../support/temporal';

const FIXTURE = `
PRAGMA foreign_keys = OFF;
CREATE TABLE "user" ("order" INTEGER PRIMARY KEY, "select" TEXT, "Mixed Case" TEXT);
INSERT INTO "user" VALUES (1, 'reserved', 'words'), (2, NULL, '');
CREATE TABLE numbers (id INTEGER PRIMARY KEY, big INTEGER, r REAL, n NUMERIC(5,2));
INSERT INTO numbers VALUES
  (1, 9223372036854775807, 1e308, 123456.789),
  (2, -9223372036854775808, -0.0, 0.1),
  (3, 9007199254740993, 0.30000000000000004, NULL),
  (4, 0, 4.9e-324, 1e21);
CREATE TABLE texts (id INTEGER PRIMARY KEY, body TEXT, note VARCHAR(5));
INSERT INTO texts VALUES (1, 'tab	and
newline and \\ backslash and \\. and \\N', 'fits'), (2, '', 'way too long'), (3, NULL, NULL), (4, '𝄞 non-BMP ✓ 中文', 'ok');
CREATE TABLE mixed (id INTEGER PRIMARY KEY, v INTEGER, b BLOB, flag BOOLEAN);
INSERT INTO mixed VALUES (1, 12, x'00ff10', 1), (2, 'toto', x'', 0), (3, 12.5, NULL, NULL);
CREATE TABLE stamps (id INTEGER PRIMARY KEY, at DATETIME, d DATE, payload JSON);
INSERT INTO stamps VALUES
  (1, '2025-03-04 05:06:07', '2025-03-04', '{"b":1,"a":[true,null,1.50]}'),
  (2, '2025-03-04T05:06:07.123456+02:00', '1999-12-31', '[1,"two",{"x":{}}]'),
  (3, '2025-03-04T05:06:07Z', NULL, NULL);
CREATE TABLE counters (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);
INSERT INTO counters (v) VALUES ('a'), ('b'), ('c');
DELETE FROM counters WHERE id >= 2;
CREATE TABLE pairs (a TEXT NOT NULL, b INTEGER NOT NULL, v REAL, PRIMARY KEY (a, b)) WITHOUT ROWID;
INSERT INTO pairs VALUES ('x', 1, 1.0), ('x', 2, NULL), ('y', 1, 2.5);
CREATE TABLE nopk (v TEXT);
INSERT INTO nopk VALUES ('dup'), ('dup'), (NULL);
CREATE TABLE parent (id INTEGER PRIMARY KEY, email TEXT COLLATE NOCASE);
INSERT INTO parent VALUES (1, 'A@x.io'), (2, 'b@x.io');
CREATE UNIQUE INDEX parent_email_nocase ON parent (email COLLATE NOCASE);
CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE, deleted INTEGER DEFAULT 0);
INSERT INTO child VALUES (1, 1, 0), (2, 2, 1), (3, 99, 0);
CREATE INDEX child_live ON child (parent_id) WHERE deleted = 0;
CREATE TRIGGER child_touch AFTER UPDATE ON child BEGIN SELECT 1; END;
CREATE TABLE empty_one (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);
`;

describe('migration edge cases (exact values in PostgreSQL)', () => {
  let t: TestTemporal;
  let db: TestDatabase;
  let result: MigrationResult;

  const migrate = (source: string, extra: Partial<Parameters<typeof runMigration>[1]> = {}) =>
    t.withWorker(
      () =>
        runMigration(t, { source, target: db.url, schema: 'edge', rollbackWindowMinutes: 0, chunkRows: 100, ...extra }),
      {
        DBOPS_ARTIFACT_DIR: join(db.dir, 'artifacts'),
      },
    );
  const fixture = (name: string, sql: string): string => db.sqliteFixture(name, sql);

  beforeAll(async () => {
    t = await TestTemporal.connect();
    db = await new TestDatabase().create();
    result = await migrate(fixture('edge.db', FIXTURE));
  });
  afterAll(async () => {
    await t.cleanup();
    await db.drop();
  });

  const rows = (sql: string) => db.query(sql);
  const typeOf = (table: string, column: string) =>
    result.tables.find((x) => x.name === table)?.columns.find((c) => c.name === column);

  it('completes with every table verified by content', () => {
    expect(result.status).toBe('completed');
    expect(result.tables.every((x) => x.match && x.rowsSource === x.rowsTarget)).toBe(true);
    expect(result.tables.map((x) => x.name)).toEqual([
      'child',
      'counters',
      'empty_one',
      'mixed',
      'nopk',
      'numbers',
      'pairs',
      'parent',
      'stamps',
      'texts',
      'user',
    ]);
  });

  it('reserved words and mixed case survive as identifiers', async () => {
    expect(await rows('SELECT "order", "select", "Mixed Case" FROM edge."user" ORDER BY 1')).toEqual([
      { order: '1', select: 'reserved', 'Mixed Case': 'words' },
      { order: '2', select: null, 'Mixed Case': '' },
    ]);
  });

  it('64-bit integers exact, REAL bit-exact (1e308, subnormal, 17 digits), NUMERIC without typmod', async () => {
    expect(await rows('SELECT big::text, r::text, n::text FROM edge.numbers ORDER BY id')).toEqual([
      { big: '9223372036854775807', r: '1e+308', n: '123456.789' },
      // SQLite itself stores -0.0 as the integer 0 (integral REALs are stored as integers): 0 is exact.
      { big: '-9223372036854775808', r: '0', n: '0.1' },
      { big: '9007199254740993', r: '0.30000000000000004', n: null },
      { big: '0', r: '5e-324', n: '1000000000000000000000' },
    ]);
    expect(typeOf('numbers', 'r')?.targetType).toBe('double precision');
    expect(typeOf('numbers', 'n')?.targetType).toBe('numeric');
  });

  it('COPY-special characters, empty vs NULL, non-BMP text; VARCHAR(5) with a longer value widened to text', async () => {
    expect(await rows('SELECT body, note FROM edge.texts ORDER BY id')).toEqual([
      { body: 'tab\tand\nnewline and \\ backslash and \\. and \\N', note: 'fits' },
      { body: '', note: 'way too long' },
      { body: null, note: null },
      { body: '𝄞 non-BMP ✓ 中文', note: 'ok' },
    ]);
    expect(typeOf('texts', 'note')).toMatchObject({
      targetType: 'text',
      reason: expect.stringContaining('longest value has 12 characters'),
    });
  });

  it('mixed storage classes stay lossless and say why; BLOB → bytea; BOOLEAN 0/1 → boolean', async () => {
    expect(typeOf('mixed', 'v')).toMatchObject({
      targetType: 'text',
      reason: expect.stringContaining('declared INTEGER but holds 1 integer, 1 real, 1 text'),
    });
    expect(await rows("SELECT v, encode(b, 'hex') AS b, flag FROM edge.mixed ORDER BY id")).toEqual([
      { v: '12', b: '00ff10', flag: true },
      { v: 'toto', b: '', flag: false },
      { v: '12.5', b: null, flag: null },
    ]);
  });

  it('timestamps with and without offsets → exact instants (naive read as UTC); DATE → date; JSON → jsonb', async () => {
    expect(
      await rows(
        "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS at, d::text, payload::text FROM edge.stamps ORDER BY id",
      ),
    ).toEqual([
      { at: '2025-03-04 05:06:07.000000', d: '2025-03-04', payload: '{"a": [true, null, 1.50], "b": 1}' },
      { at: '2025-03-04 03:06:07.123456', d: '1999-12-31', payload: '[1, "two", {"x": {}}]' },
      { at: '2025-03-04 05:06:07.000000', d: null, payload: null },
    ]);
    expect(typeOf('stamps', 'at')?.targetType).toBe('timestamptz');
    expect(typeOf('stamps', 'd')?.targetType).toBe('date');
    expect(typeOf('stamps', 'payload')?.targetType).toBe('jsonb');
  });

  it('AUTOINCREMENT continues after sqlite_sequence.seq (3), not max(id) (1); a never-used table starts at 1', async () => {
    expect(await rows("INSERT INTO edge.counters (v) VALUES ('next') RETURNING id")).toEqual([{ id: '4' }]);
    expect(await rows("INSERT INTO edge.empty_one (v) VALUES ('first') RETURNING id")).toEqual([{ id: '1' }]);
  });

  it('composite WITHOUT ROWID primary key, and a table without any key, keep every row', async () => {
    expect(
      await rows(
        "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'edge.pairs'::regclass AND contype = 'p'",
      ),
    ).toEqual([{ def: 'PRIMARY KEY (a, b)' }]);
    expect(await rows('SELECT v, count(*)::int AS n FROM edge.nopk GROUP BY v ORDER BY v NULLS LAST')).toEqual([
      { v: 'dup', n: 2 },
      { v: null, n: 1 },
    ]);
  });

  it('orphan rows: the foreign key is created NOT VALID and the rows are reported', async () => {
    expect(result.warnings.join('\n')).toMatch(
      /child\(parent_id\) → parent: 1 orphan row\(s\) in the source \(rowid 3\).*NOT VALID/,
    );
    expect(
      await rows(
        "SELECT convalidated, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'edge.child'::regclass AND contype = 'f'",
      ),
    ).toEqual([
      { convalidated: false, def: 'FOREIGN KEY (parent_id) REFERENCES edge.parent(id) ON DELETE CASCADE NOT VALID' },
    ]);
  });

  it('partial and NOCASE indexes carried (NOCASE as lower(), reported); triggers reported as not migrated', async () => {
    const defs = (
      await rows(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'edge' AND tablename IN ('child', 'parent') ORDER BY indexname",
      )
    ).map((r) => r.indexdef);
    expect(defs).toContain('CREATE INDEX child_live ON edge.child USING btree (parent_id) WHERE (deleted = 0)');
    expect(defs).toContain('CREATE UNIQUE INDEX parent_email_nocase ON edge.parent USING btree (lower(email))');
    expect(result.warnings.join('\n')).toContain(
      'index parent_email_nocase on parent: COLLATE NOCASE rebuilt as lower()',
    );
    expect(result.notMigrated).toContainEqual({
      kind: 'trigger',
      name: 'child_touch',
      why: expect.stringContaining('not translated'),
    });
  });

  const failure = async (name: string, sql: string, extra: Partial<Parameters<typeof runMigration>[1]> = {}) => {
    const before = await db.schemas();
    const error = await migrate(fixture(name, sql), { schema: 'edge_fail', ...extra }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(await db.schemas()).toEqual(before); // nothing created, nothing left behind
    return summarizeFailure(error);
  };

  it('a NUL byte in text fails before the target is touched, naming table, column and row', async () => {
    const f = await failure(
      'nul.db',
      "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'ok'), (2, 'a' || char(0) || 'b');",
    );
    expect(f.type).toBe('DBOPS_BAD_INPUT');
    expect(f.message).toMatch(
      /the target was not touched: notes\.body holds 1 value\(s\) with a NUL byte \(rows: rowid 2\)/,
    );
  });

  it('invalid UTF-8 is detected (better-sqlite3 would turn it into U+FFFD) and fails, naming the row', async () => {
    const f = await failure(
      'utf8.db',
      "CREATE TABLE files (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO files VALUES (1, 'fine'), (2, CAST(x'66696c65966e616d65' AS TEXT));",
    );
    expect(f.message).toMatch(/files\.name holds 1 value\(s\) that are not valid UTF-8 \(rows: rowid 2\)/);
  });

  it('--strict refuses a widened column and orphan rows instead of migrating', async () => {
    const f = await failure(
      'strict.db',
      "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO t VALUES (1, 5), (2, 'five');",
      { strict: true },
    );
    expect(f.message).toMatch(/--strict: t\.n declared INTEGER but holds 1 integer, 1 text/);
  });
});
