/**
 * More SQLite → PostgreSQL edge cases: generated columns, STRICT/ANY, virtual tables and
 * their shadow tables, self-references and bare REFERENCES, long and colliding names, '' in INTEGER
 * columns, booleans beyond 0/1, Unix-time DATETIMEs, a WAL-mode source, a UTF-16 database.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeFailure } from '../../scripts/cli/output';
import type { MigrationResult } from '../../common/contracts/migration';
import { runMigration, TestDatabase } from '../support/migration';
import { TestTemporal } from '../support/temporal';

const LONG_A = `a_${'very_long_table_name_'.repeat(3)}one`;
const LONG_B = `a_${'very_long_table_name_'.repeat(3)}two`;

const FIXTURE = `
PRAGMA foreign_keys = OFF;
CREATE TABLE gen (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL, c TEXT GENERATED ALWAYS AS ('x' || a) STORED);
INSERT INTO gen (id, a) VALUES (1, 10), (2, 20);
CREATE TABLE strict_t (id INTEGER PRIMARY KEY, n INT, anything ANY) STRICT;
INSERT INTO strict_t VALUES (1, 5, 'text'), (2, 6, 7), (3, NULL, x'0a');
CREATE VIRTUAL TABLE docs USING fts5(title, body);
INSERT INTO docs VALUES ('hello', 'world');
CREATE TABLE tree (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES tree(id), name TEXT);
INSERT INTO tree VALUES (1, NULL, 'root'), (2, 1, 'child');
CREATE TABLE owner (id INTEGER PRIMARY KEY, label TEXT);
INSERT INTO owner VALUES (1, 'o');
CREATE TABLE pet (id INTEGER PRIMARY KEY, owner_id INTEGER REFERENCES owner);
INSERT INTO pet VALUES (1, 1);
CREATE TABLE loose (id INTEGER PRIMARY KEY, qty INTEGER, ok BOOLEAN, seen DATETIME);
INSERT INTO loose VALUES (1, '', 'yes', 1627303906), (2, 3, 2, 1627303906122), (3, NULL, 0, NULL);
`;

describe('more migration edge cases', () => {
  let t: TestTemporal;
  let db: TestDatabase;
  let result: MigrationResult;

  const migrate = (source: string, schema: string) =>
    t.withWorker(() => runMigration(t, { source, target: db.url, schema, rollbackWindowMinutes: 0 }), {
      DBOPS_ARTIFACT_DIR: join(db.dir, 'artifacts'),
    });

  beforeAll(async () => {
    t = await TestTemporal.connect();
    db = await new TestDatabase().create();
    result = await migrate(db.sqliteFixture('more.db', FIXTURE), 'more');
  });
  afterAll(async () => {
    await t.cleanup();
    await db.drop();
  });

  const columnOf = (table: string, column: string) =>
    result.tables.find((x) => x.name === table)?.columns.find((c) => c.name === column);

  it('completes, every migrated table verified; FTS tables and their shadow tables are reported, not copied', () => {
    expect(result.status).toBe('completed');
    expect(result.tables.every((x) => x.match)).toBe(true);
    expect(result.tables.map((x) => x.name)).not.toContain('docs');
    expect(result.tables.map((x) => x.name).some((n) => n.startsWith('docs_'))).toBe(false);
    expect(result.notMigrated).toContainEqual({ kind: 'virtual table', name: 'docs', why: expect.any(String) });
  });

  it('generated columns are not copied and are reported; the stored values of ordinary columns are', async () => {
    expect(await db.query('SELECT * FROM more.gen ORDER BY id')).toEqual([
      { id: '1', a: '10' },
      { id: '2', a: '20' },
    ]);
    expect(
      result.notMigrated
        .filter((n) => n.kind === 'generated column')
        .map((n) => n.name)
        .sort(),
    ).toEqual(['gen.b', 'gen.c']);
  });

  it('STRICT table with an ANY column holding text, integer and blob keeps every value losslessly (bytea)', async () => {
    expect(columnOf('strict_t', 'anything')?.targetType).toBe('bytea');
    expect(await db.query("SELECT n, encode(anything, 'hex') AS anything FROM more.strict_t ORDER BY id")).toEqual([
      { n: '5', anything: '74657874' }, // 'text' as UTF-8
      { n: '6', anything: '37' }, // the integer 7 as its text '7'
      { n: null, anything: '0a' },
    ]);
  });

  it('self-reference and bare REFERENCES parent (its primary key) become foreign keys', async () => {
    const defs = await db.query<{ def: string }>(
      "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE connamespace = 'more'::regnamespace AND contype = 'f' ORDER BY 1",
    );
    expect(defs.map((d) => d.def)).toEqual([
      'FOREIGN KEY (owner_id) REFERENCES more.owner(id)',
      'FOREIGN KEY (parent) REFERENCES more.tree(id)',
    ]);
  });

  it('names longer than 63 bytes (two would collide after truncation) are refused before the target is touched', async () => {
    const path = db.sqliteFixture(
      'long.db',
      `CREATE TABLE "${LONG_A}" (id INTEGER PRIMARY KEY); CREATE TABLE "${LONG_B}" (id INTEGER PRIMARY KEY); CREATE TABLE fine (id INTEGER PRIMARY KEY);`,
    );
    const before = await db.schemas();
    const error = await migrate(path, 'long').catch((err: unknown) => err);
    expect(summarizeFailure(error)).toMatchObject({ type: 'DBOPS_BAD_INPUT' });
    expect(summarizeFailure(error).message).toContain(`table "${LONG_A}": "${LONG_A}" is longer than 63 bytes`);
    expect(await db.schemas()).toEqual(before);
    const rest = await t.withWorker(
      () =>
        runMigration(t, {
          source: path,
          target: db.url,
          schema: 'long',
          rollbackWindowMinutes: 0,
          exclude: [LONG_A, LONG_B],
        }),
      { DBOPS_ARTIFACT_DIR: join(db.dir, 'artifacts') },
    );
    expect(rest.tables.map((x) => x.name)).toEqual(['fine']);
  });

  it("'' in an INTEGER column, booleans beyond 0/1 and Unix-time DATETIMEs are kept losslessly, with reasons", async () => {
    expect(columnOf('loose', 'qty')).toMatchObject({
      targetType: 'text',
      reason: expect.stringContaining('declared INTEGER but holds'),
    });
    expect(columnOf('loose', 'ok')?.reason).toContain('values other than 0/1');
    expect(columnOf('loose', 'seen')).toMatchObject({
      targetType: 'bigint',
      reason: expect.stringContaining('not ISO-8601'),
    });
    expect(await db.query('SELECT qty, ok::text AS ok, seen::text AS seen FROM more.loose ORDER BY id')).toEqual([
      { qty: '', ok: 'yes', seen: '1627303906' },
      { qty: '3', ok: '2', seen: '1627303906122' },
      { qty: null, ok: '0', seen: null },
    ]);
  });

  it('a WAL-mode source with un-checkpointed writes: the backup sees them, the source is not modified', async () => {
    const path = join(db.dir, 'wal.db');
    const writer = new Database(path);
    writer.pragma('journal_mode = WAL');
    writer.pragma('wal_autocheckpoint = 0');
    writer.exec("CREATE TABLE w (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO w (v) VALUES ('in the wal'), ('also')");
    try {
      const wal = await migrate(path, 'wal');
      expect(wal.status).toBe('completed');
      expect(await db.query('SELECT v FROM wal.w ORDER BY id')).toEqual([{ v: 'in the wal' }, { v: 'also' }]);
      expect(wal.source.sha256After).toBe(wal.source.sha256Before);
    } finally {
      writer.close();
    }
  });

  it('a UTF-16 database migrates its text exactly', async () => {
    const path = join(db.dir, 'utf16.db');
    const sqlite = new Database(path);
    sqlite.pragma("encoding = 'UTF-16le'");
    sqlite.exec("CREATE TABLE u (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO u (v) VALUES ('héllo 𝄞 中文')");
    sqlite.close();
    const utf16 = await migrate(path, 'utf16');
    expect(utf16.status).toBe('completed');
    expect(await db.query('SELECT v FROM utf16.u')).toEqual([{ v: 'héllo 𝄞 中文' }]);
  });
});
