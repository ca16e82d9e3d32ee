/**
 * SQLite → PostgreSQL edge cases not covered elsewhere: keys that SQLite tolerates and
 * PostgreSQL does not (NULL in a non-alias PRIMARY KEY, a FOREIGN KEY to a non-unique column), composite,
 * circular and DEFERRABLE foreign keys, noisy type names, defaults, invalid JSON in a JSON column, mixed date
 * spellings, naive timestamps in a named source time zone (checked against PostgreSQL's own reading), a
 * 2000-column table, and a 100 MB BLOB.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeFailure } from '../../scripts/cli/output';
import type { MigrationInput, MigrationResult } from '../../common/contracts/migration';
import { runMigration, TestDatabase } from '../support/migration';
import { TestTemporal } from '../support/temporal';

const FIXTURE = `
PRAGMA foreign_keys = OFF;
CREATE TABLE legacy (id integer auto_increment primary key, v TEXT);
INSERT INTO legacy VALUES (NULL, 'a'), (NULL, 'b'), (1, 'c');
CREATE TABLE loose_parent (code TEXT, v INTEGER);
INSERT INTO loose_parent VALUES ('x', 1), ('x', 2);
CREATE TABLE loose_child (id INTEGER PRIMARY KEY, code TEXT REFERENCES loose_parent(code));
INSERT INTO loose_child VALUES (1, 'x');
CREATE TABLE hen (id INTEGER PRIMARY KEY, egg_id INTEGER REFERENCES egg(id) DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE egg (id INTEGER PRIMARY KEY, hen_id INTEGER REFERENCES hen(id) ON DELETE SET NULL);
INSERT INTO hen VALUES (1, 1);
INSERT INTO egg VALUES (1, 1);
CREATE TABLE region (country TEXT, code TEXT, name TEXT, PRIMARY KEY (country, code));
INSERT INTO region VALUES ('FR', '75', 'Paris');
CREATE TABLE shop (id INTEGER PRIMARY KEY, country TEXT, code TEXT,
  FOREIGN KEY (country, code) REFERENCES region (country, code) ON UPDATE CASCADE);
INSERT INTO shop VALUES (1, 'FR', '75');
CREATE TABLE noisy (id INTEGER PRIMARY KEY, a unsigned big int, b short integer, c varying character(20),
  d "double precision", e int(11), f byte[], g intege, h timestampz, i UUID, j TIME);
INSERT INTO noisy VALUES (1, 9223372036854775807, 3, 'twenty chars at most', 1.5, 11, x'01', 7,
  '2025-01-01 00:00:00', '6f1c2d9e-7a4b-4c3d-9e8f-0a1b2c3d4e5f', '12:30:00');
CREATE TABLE defs (id INTEGER PRIMARY KEY, a TEXT DEFAULT CURRENT_TIME, b INTEGER DEFAULT (strftime('%s','now')),
  c REAL DEFAULT (julianday('now')), d TEXT DEFAULT 'null', e BOOLEAN DEFAULT false, f INTEGER DEFAULT -1,
  g BLOB DEFAULT x'00', h TEXT DEFAULT "", i DATETIME DEFAULT (datetime('now','localtime')), j TEXT DEFAULT '"0"',
  k INTEGER DEFAULT (1 + 2));
INSERT INTO defs (id) VALUES (1);
CREATE TABLE docs (id INTEGER PRIMARY KEY, body JSON, meta JSON);
INSERT INTO docs VALUES (1, '{"a":1}', '{"ok":true}'), (2, '{not json', '{"nul":"\\u0000"}');
CREATE TABLE dates (id INTEGER PRIMARY KEY, mixed TEXT, jd REAL, odd DATETIME);
INSERT INTO dates VALUES (1, '2025-01-01 00:00:00', 2460676.5, '0000-00-00 00:00:00'),
  (2, '2460676.5', 2460677.25, '10000-01-01 00:00:00'), (3, '1735689600000', NULL, '0');
`;

describe('migration edge cases: keys, foreign keys, type names, defaults, dates, sizes', () => {
  let t: TestTemporal;
  let db: TestDatabase;
  let result: MigrationResult;

  const migrate = (source: string, schema: string, extra: Partial<MigrationInput> = {}) =>
    t.withWorker(() => runMigration(t, { source, target: db.url, schema, rollbackWindowMinutes: 0, ...extra }), {
      DBOPS_ARTIFACT_DIR: join(db.dir, 'artifacts'),
    });
  const fixture = (name: string, sql: string): string => db.sqliteFixture(name, sql);
  const failure = async (source: string, extra: Partial<MigrationInput> = {}) => {
    const before = await db.schemas();
    const error = await migrate(source, 'refused', extra).catch((err: unknown) => err);
    expect(await db.schemas()).toEqual(before); // the target was not touched
    return summarizeFailure(error);
  };
  const columnOf = (table: string, column: string) =>
    result.tables.find((x) => x.name === table)?.columns.find((c) => c.name === column);
  const constraints = async (table: string, type: string) =>
    (
      await db.query<{ def: string }>(
        `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'keys.${table}'::regclass AND contype = '${type}' ORDER BY 1`,
      )
    ).map((r) => r.def);

  beforeAll(async () => {
    t = await TestTemporal.connect();
    db = await new TestDatabase().create();
    result = await migrate(fixture('keys.db', FIXTURE), 'keys');
  });
  afterAll(async () => {
    await t.cleanup();
    await db.drop();
  });

  it('completes with every table verified by content', () => {
    expect(result.status).toBe('completed');
    expect(result.tables.filter((x) => !x.match)).toEqual([]);
    expect(result.tables).toHaveLength(11);
  });

  it('a non-alias PRIMARY KEY holding NULLs becomes a UNIQUE index, every row kept, and says so', async () => {
    expect(await db.query('SELECT id, v FROM keys.legacy ORDER BY v')).toEqual([
      { id: null, v: 'a' },
      { id: null, v: 'b' },
      { id: '1', v: 'c' },
    ]);
    expect(await constraints('legacy', 'p')).toEqual([]);
    expect(
      await db.query("SELECT indexdef FROM pg_indexes WHERE schemaname = 'keys' AND tablename = 'legacy'"),
    ).toEqual([{ indexdef: 'CREATE UNIQUE INDEX legacy_pkey ON keys.legacy USING btree (id)' }]);
    expect(result.warnings.join('\n')).toContain(
      'legacy: PRIMARY KEY (id) holds NULL in id (2 row(s)), which SQLite allows and PostgreSQL does not',
    );
  });

  it('a FOREIGN KEY to a non-unique column is not created, and the report says why and how to fix it', async () => {
    expect(await constraints('loose_child', 'f')).toEqual([]);
    expect(result.notMigrated).toContainEqual({
      kind: 'foreign key',
      name: 'loose_child(code) → loose_parent(code)',
      why: expect.stringContaining('add a unique index on them in the source'),
    });
  });

  it('circular, DEFERRABLE INITIALLY DEFERRED, ON DELETE SET NULL and composite ON UPDATE CASCADE keys', async () => {
    expect(await constraints('hen', 'f')).toEqual([
      'FOREIGN KEY (egg_id) REFERENCES keys.egg(id) DEFERRABLE INITIALLY DEFERRED',
    ]);
    expect(await constraints('egg', 'f')).toEqual(['FOREIGN KEY (hen_id) REFERENCES keys.hen(id) ON DELETE SET NULL']);
    expect(await constraints('shop', 'f')).toEqual([
      'FOREIGN KEY (country, code) REFERENCES keys.region(country, code) ON UPDATE CASCADE',
    ]);
    expect(await constraints('region', 'p')).toEqual(['PRIMARY KEY (country, code)']);
  });

  it('noisy declared type names get sensible types and exact values', async () => {
    const types = Object.fromEntries(
      (result.tables.find((x) => x.name === 'noisy')?.columns ?? []).map((c) => [c.name, c.targetType]),
    );
    expect(types).toEqual({
      id: 'bigint',
      a: 'bigint',
      b: 'bigint',
      c: 'varchar(20)',
      d: 'double precision',
      e: 'bigint',
      f: 'bytea',
      g: 'bigint',
      h: 'timestamptz',
      i: 'text',
      j: 'text',
    });
    expect(await db.query("SELECT a::text, c, d, f::text, h AT TIME ZONE 'UTC' AS h, i, j FROM keys.noisy")).toEqual([
      {
        a: '9223372036854775807',
        c: 'twenty chars at most',
        d: 1.5,
        f: '\\x01',
        h: new Date('2025-01-01T00:00:00Z'),
        i: '6f1c2d9e-7a4b-4c3d-9e8f-0a1b2c3d4e5f',
        j: '12:30:00',
      },
    ]);
  });

  it('defaults: the translatable ones are carried, the others reported; DEFAULT VALUES inserts work', async () => {
    const defaults = Object.fromEntries(
      (
        await db.query<{ column_name: string; column_default: string | null }>(
          "SELECT column_name, column_default FROM information_schema.columns WHERE table_schema = 'keys' AND table_name = 'defs'",
        )
      ).map((r) => [r.column_name, r.column_default]),
    );
    expect(defaults).toMatchObject({
      a: "to_char((now() AT TIME ZONE 'UTC'::text), 'HH24:MI:SS'::text)",
      d: "'null'::text",
      e: 'false',
      f: "'-1'::integer",
      h: "''::text",
      j: '\'"0"\'::text',
    });
    const warnings = result.warnings.join('\n');
    for (const column of ['b', 'c', 'g', 'k'])
      expect(warnings).toMatch(new RegExp(`defs\\.${column}: default .* (has no PostgreSQL translation|cannot)`));
    await db.query('INSERT INTO keys.defs (id) VALUES (2)');
    expect(await db.query('SELECT d, e, f, h, j FROM keys.defs WHERE id = 2')).toEqual([
      { d: 'null', e: false, f: '-1', h: '', j: '"0"' },
    ]);
  });

  it('a JSON column with invalid JSON, or JSON jsonb cannot hold (\\u0000), stays text with the reason', async () => {
    expect(columnOf('docs', 'body')).toMatchObject({ targetType: 'text', reason: expect.stringContaining('JSON') });
    expect(columnOf('docs', 'meta')?.targetType).toBe('text');
    expect(await db.query('SELECT body, meta FROM keys.docs ORDER BY id')).toEqual([
      { body: '{"a":1}', meta: '{"ok":true}' },
      { body: '{not json', meta: '{"nul":"\\u0000"}' },
    ]);
  });

  it('ISO, Julian-day and Unix-ms spellings mixed in one column, zero dates and year 10000 stay exact text', async () => {
    expect(columnOf('dates', 'mixed')?.targetType).toBe('text');
    expect(columnOf('dates', 'jd')?.targetType).toBe('double precision');
    expect(columnOf('dates', 'odd')).toMatchObject({
      targetType: 'text',
      reason: expect.stringContaining('not ISO-8601'),
    });
    expect(await db.query('SELECT mixed, jd, odd FROM keys.dates ORDER BY id')).toEqual([
      { mixed: '2025-01-01 00:00:00', jd: 2460676.5, odd: '0000-00-00 00:00:00' },
      { mixed: '2460676.5', jd: 2460677.25, odd: '10000-01-01 00:00:00' },
      { mixed: '1735689600000', jd: null, odd: '0' },
    ]);
  });

  it('sourceTimeZone: naive timestamps are read as wall-clock time there, exactly as PostgreSQL reads them', async () => {
    const values = [
      '2025-01-15 12:00:00',
      '2025-07-15 12:00:00.123456',
      '2025-03-09 02:30:00', // does not exist in New York (clocks forward)
      '2025-11-02 01:30:00', // exists twice (clocks back)
      '2025-11-02',
      '2025-07-15T12:00:00Z', // an explicit offset is kept
    ];
    const path = fixture(
      'tz.db',
      `CREATE TABLE tz (id INTEGER PRIMARY KEY, at DATETIME);
       ${values.map((v, i) => `INSERT INTO tz VALUES (${i + 1}, '${v}');`).join('\n')}`,
    );
    const tz = await migrate(path, 'tz', { sourceTimeZone: 'America/New_York' });
    expect(tz.tables[0]?.match).toBe(true);
    expect(tz.tables[0]?.columns.find((c) => c.name === 'at')?.reason).toContain(
      '5 value(s) without offset read as America/New_York',
    );
    // PostgreSQL reads each original text itself: the migrated instant must be the one it finds.
    const rows = await db.query<{ raw: string; same: boolean }>(
      `SELECT v.raw, t.at = CASE WHEN v.raw LIKE '%Z' THEN v.raw::timestamptz
                                ELSE v.raw::timestamp AT TIME ZONE 'America/New_York' END AS same
       FROM tz.tz t JOIN unnest($1::text[]) WITH ORDINALITY AS v(raw, n) ON v.n = t.id ORDER BY t.id`,
      [values],
    );
    expect(rows).toEqual(values.map((raw) => ({ raw, same: true })));
  });

  it('an unknown sourceTimeZone is refused before anything is touched', async () => {
    const f = await failure(fixture('tz-bad.db', 'CREATE TABLE t (id INTEGER PRIMARY KEY, at DATETIME);'), {
      sourceTimeZone: 'Mars/Olympus',
    });
    expect(f).toMatchObject({ type: 'DBOPS_BAD_INPUT' });
    expect(f.message).toContain('sourceTimeZone: unknown time zone "Mars/Olympus": give an IANA name');
  });

  it('a 2000-column table (PostgreSQL allows 1600) is refused before the target is touched, naming it', async () => {
    const columns = Array.from({ length: 2000 }, (_, i) => `c${i} INTEGER`).join(', ');
    const f = await failure(fixture('wide.db', `CREATE TABLE wide (${columns}); INSERT INTO wide (c0) VALUES (1);`));
    expect(f).toMatchObject({ type: 'DBOPS_BAD_INPUT' });
    expect(f.message).toContain('table "wide" has 2000 columns and PostgreSQL allows at most 1600');
  });

  it('a 100 MB BLOB arrives byte for byte', { timeout: 180_000 }, async () => {
    const path = fixture(
      'blob.db',
      "CREATE TABLE big (id INTEGER PRIMARY KEY, b BLOB); INSERT INTO big VALUES (1, randomblob(100 * 1024 * 1024)), (2, x'00');",
    );
    const sqlite = new Database(path, { readonly: true });
    const expected = (sqlite.prepare('SELECT b FROM big ORDER BY id').pluck().all() as Buffer[]).map((b) =>
      createHash('md5').update(b).digest('hex'),
    );
    sqlite.close();
    const big = await migrate(path, 'blob');
    expect(big.tables[0]).toMatchObject({ name: 'big', rowsTarget: 2, match: true });
    expect(
      (await db.query<{ md5: string; n: number }>('SELECT md5(b), length(b) AS n FROM blob.big ORDER BY id')).map(
        (r) => r.md5,
      ),
    ).toEqual(expected);
  });
});
