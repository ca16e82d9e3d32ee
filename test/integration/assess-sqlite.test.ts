/**
 * The SQLite assessment on temporary files (read on a thread, from the build): exact findings for a healthy
 * file with a table without a primary key and a WITHOUT ROWID table, volume per table with dbstat bytes, free
 * pages after a dropped table, a WAL file, a damaged file (quick_check fails, the damaged table left out of the
 * volume), and files that do not open (missing, not a database) reported down instead of thrown.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assessSqlite } from '../../activities/sqlite/assess';
import { ASSESSMENT_RULES } from '../../common/assessment/rules';
import type { CheckResult } from '../../common/contracts/assessment';

const dir = mkdtempSync(join(tmpdir(), 'dbops-assess-sqlite-'));
const rules = ASSESSMENT_RULES;
const healthy = join(dir, 'shop.db');
const wal = join(dir, 'wal.db');
const damaged = join(dir, 'damaged.db');

const byId = (findings: CheckResult[]): Record<string, CheckResult> =>
  Object.fromEntries(findings.map((f) => [f.id, f]));
const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

beforeAll(() => {
  const db = new Database(healthy);
  db.exec(`
    CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
    CREATE INDEX items_name ON items(name);
    CREATE TABLE log (msg TEXT);
    CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
    CREATE TABLE tags (item_id INTEGER, tag TEXT, UNIQUE (item_id, tag));
    CREATE VIEW item_names AS SELECT name FROM items;
    CREATE TABLE scratch (payload BLOB);
  `);
  const insert = db.transaction(() => {
    for (let i = 1; i <= 100; i++) db.prepare('INSERT INTO items (name) VALUES (?)').run(`item ${i}`);
    for (let i = 1; i <= 10; i++) db.prepare('INSERT INTO log VALUES (?)').run(`line ${i}`);
    for (let i = 1; i <= 5; i++) db.prepare('INSERT INTO kv VALUES (?, ?)').run(`k${i}`, `v${i}`);
    for (let i = 1; i <= 4; i++) db.prepare('INSERT INTO tags VALUES (?, ?)').run(i, 'red');
    for (let i = 0; i < 50; i++) db.prepare('INSERT INTO scratch VALUES (?)').run(Buffer.alloc(8000, i));
  });
  insert();
  db.exec('DROP TABLE scratch'); // its pages go to the freelist
  db.close();

  const w = new Database(wal);
  w.pragma('journal_mode = WAL');
  w.exec('CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2)');
  w.close();

  const d = new Database(damaged);
  d.pragma('page_size = 4096');
  d.exec('CREATE TABLE fine (id INTEGER PRIMARY KEY); INSERT INTO fine VALUES (1)');
  d.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, body TEXT)');
  const fill = d.prepare('INSERT INTO big (body) VALUES (?)');
  d.transaction(() => {
    for (let i = 0; i < 200; i++) fill.run('x'.repeat(500));
  })();
  const pages = Number(d.pragma('page_count', { simple: true }));
  d.close();
  // Overwrite the last page (a leaf of `big`) with garbage.
  const fd = openSync(damaged, 'r+');
  writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, (pages - 1) * 4096);
  closeSync(fd);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('assessSqlite', () => {
  it('reports the findings and volume of a healthy file, without changing it', async () => {
    const before = sha256(healthy);
    const result = await assessSqlite(healthy, 'shop', rules);
    expect(result.up).toBe(true);
    expect(result.version).toMatch(/^3\.\d+/);
    expect(Object.fromEntries(result.findings.map((f) => [f.id, f.severity]))).toEqual({
      'sqlite.reachable': 'ok',
      'sqlite.integrity': 'ok',
      'sqlite.journal_mode': 'ok',
      'sqlite.fragmentation': 'ok',
      'sqlite.tables_without_pk': 'warning',
      'sqlite.without_rowid': 'ok',
    });
    for (const f of result.findings) expect(f).toMatchObject({ engine: 'sqlite', target: 'shop' });
    const f = byId(result.findings);
    expect(f['sqlite.integrity']).toMatchObject({ value: 'ok', category: 'durability' });
    expect(f['sqlite.journal_mode']).toMatchObject({ value: 'delete' });
    expect(f['sqlite.tables_without_pk']).toMatchObject({ count: 2, value: 2, category: 'schema' });
    expect(f['sqlite.tables_without_pk']!.evidence).toBe('no primary key: log, tags');
    expect(f['sqlite.without_rowid']).toMatchObject({ count: 1 });
    expect(f['sqlite.without_rowid']!.evidence).toContain('kv');
    // The dropped table left free pages, far too few bytes for a warning.
    const facts = result.facts as Record<string, number>;
    expect(facts.freelistCount).toBeGreaterThanOrEqual(50);
    expect(f['sqlite.fragmentation']!.value).toBeCloseTo((facts.freelistCount! / facts.pageCount!) * 100, 1);
    expect(f['sqlite.fragmentation']!.evidence).toContain(`${facts.freelistCount} free of ${facts.pageCount} pages`);

    const volume = result.volume!;
    expect(volume).toMatchObject({ target: 'shop', engine: 'sqlite', totalBytes: facts.pageCount! * facts.pageSize! });
    expect(volume.tables.map((t) => [t.name, t.rows, t.rowsExact])).toEqual([
      ['items', 100, true],
      ['kv', 5, true],
      ['log', 10, true],
      ['tags', 4, true],
    ]);
    const tables = Object.fromEntries(volume.tables.map((t) => [t.name, t]));
    expect(result.facts.bytesPerTable).toBe('dbstat');
    expect(tables.items!.dataBytes).toBeGreaterThan(0);
    expect(tables.items!.indexBytes).toBeGreaterThan(0); // items_name
    expect(tables.tags!.indexBytes).toBeGreaterThan(0); // the UNIQUE constraint's autoindex
    expect(tables.log!.indexBytes).toBe(0);
    expect(tables.kv!.dataBytes).toBeGreaterThan(0);

    expect(sha256(healthy)).toBe(before);
  });

  it('recognises a WAL file', async () => {
    const f = byId((await assessSqlite(wal, 'wal', rules)).findings);
    expect(f['sqlite.journal_mode']).toMatchObject({ severity: 'ok', value: 'wal' });
    expect(f['sqlite.journal_mode']!.evidence).toMatch(/write-ahead log/);
    expect(f['sqlite.tables_without_pk']).toMatchObject({ severity: 'ok', count: 0 });
  });

  it('reports a damaged file as corrupt and leaves the damaged table out of the volume', async () => {
    const result = await assessSqlite(damaged, 'damaged', rules);
    expect(result.up).toBe(true);
    const f = byId(result.findings);
    expect(f['sqlite.integrity']).toMatchObject({ severity: 'critical', value: 'corrupt' });
    expect(f['sqlite.integrity']!.recommendation).toMatch(/restore it from a backup/);
    expect(f['sqlite.integrity']!.evidence).toMatch(/malformed/);
    expect(result.volume!.tables).toEqual([expect.objectContaining({ name: 'fine', rows: 1, rowsExact: true })]);
    expect(result.facts.countErrors).toMatch(/^big: database disk image is malformed/);
  });

  it('reports a missing file, a non-database and no path as down, without throwing', async () => {
    const notDb = join(dir, 'notes.txt');
    writeFileSync(notDb, 'this is not a database, just text that is long enough to have a header\n'.repeat(20));
    for (const [path, pattern] of [
      [join(dir, 'missing.db'), /ENOENT|no such file/],
      [notDb, /not a database/],
      ['', /no file path/],
      [dir, /not a regular file/],
    ] as const) {
      const result = await assessSqlite(path, 'gone', rules);
      expect(result.up).toBe(false);
      expect(result.findings).toHaveLength(1);
      expect(result.findings[0]).toMatchObject({ id: 'sqlite.reachable', severity: 'critical', value: 'down' });
      expect(result.findings[0]!.evidence).toMatch(pattern);
      expect(result.volume).toBeUndefined();
    }
  });

  it('stops the thread when the signal aborts', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await expect(assessSqlite(healthy, 'shop', rules, { signal: controller.signal })).rejects.toThrow('cancelled');
  });
});
