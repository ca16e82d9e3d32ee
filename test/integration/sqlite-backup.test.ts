/**
 * The SQLite backup: a rollback-journal database is copied in one read under a held SHARED lock (the copy is
 * byte-identical, one SHA-256 is both files'), a WAL database through the online backup API (rows still only
 * in the -wal file are in the copy), quick_check runs on the copy, and a file that is not a database, or a
 * corrupt one, fails with the source named and nothing left behind.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DbopsError, ErrorCode } from '../../common/errors';
import { sha256File } from '../../activities/files/sha256';
import { backupSqlite } from '../../activities/sqlite/backup';
import { quickCheck } from '../../activities/sqlite/file-thread';

const ROWS = 20_000;

/** A rollback-journal (DELETE mode) database of a few hundred pages. */
function createDb(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = DELETE');
  db.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
           WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS})
           INSERT INTO t SELECT i, printf('%050d', i) FROM n;
           CREATE INDEX t_v ON t (v);`);
  db.close();
}

function countRows(path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return Number(db.prepare('SELECT count(*) FROM t').pluck().get());
  } finally {
    db.close();
  }
}

/** The error a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected a rejection'),
    (err: unknown) => err,
  );
}

describe('SQLite backup', () => {
  let dir: string;
  let source: string;
  let copy: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dbops-sqlite-backup-'));
    source = join(dir, 'source.db');
    copy = join(dir, 'backup', 'copy.sqlite');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('copies a DELETE-mode database byte for byte, with both checksums from the one read', async () => {
    createDb(source);
    const backup = await backupSqlite(source, copy);

    expect(readFileSync(copy).equals(readFileSync(source))).toBe(true);
    expect(backup).toEqual({
      sourcePath: source,
      sourceSha256: await sha256File(source),
      backupPath: copy,
      backupSha256: await sha256File(copy),
      sizeBytes: statSync(source).size,
      integrity: 'ok',
    });
    expect(backup.sourceSha256).toBe(backup.backupSha256);
    expect(readdirSync(join(dir, 'backup'))).toEqual(['copy.sqlite']); // no temporary file left
  });

  it('holds the read lock from the call on: a write attempted during the copy fails, the copy is consistent', async () => {
    createDb(source);
    const writer = new Database(source);
    writer.pragma('busy_timeout = 0');
    try {
      // backupSqlite takes its SHARED lock before its first await, so it is held when the promise comes back.
      const pending = backupSqlite(source, copy);
      let busy: unknown;
      try {
        writer.prepare("INSERT INTO t (v) VALUES ('during the backup')").run();
      } catch (err) {
        busy = err;
      }
      expect(busy).toMatchObject({ code: 'SQLITE_BUSY' });
      // The lock is SQLite's POSIX lock on the file: another process cannot commit either.
      const other = spawnSync(
        process.execPath,
        [
          '-e',
          `const D = require('better-sqlite3');
           const db = new D(process.argv[1]); db.pragma('busy_timeout = 0');
           try { db.exec("INSERT INTO t (v) VALUES ('from another process')"); console.log('written'); }
           catch (err) { console.log(err.code); }`,
          source,
        ],
        { encoding: 'utf8', cwd: process.cwd() },
      );
      expect(other.stdout.trim()).toBe('SQLITE_BUSY');

      const backup = await pending;
      expect(backup.integrity).toBe('ok');
      expect(backup.sourceSha256).toBe(backup.backupSha256);
      expect(countRows(copy)).toBe(ROWS);
      // Released once the copy is done: the writer commits now, and the copy does not change.
      writer.prepare("INSERT INTO t (v) VALUES ('after the backup')").run();
      expect(countRows(source)).toBe(ROWS + 1);
      expect(await sha256File(copy)).toBe(backup.backupSha256);
    } finally {
      writer.close();
    }
  });

  it('a quick_check thread that opens and closes the source keeps the lock another connection holds', async () => {
    // The backup checks the source on a thread while its own read transaction streams the file: closing the
    // thread's connection must not drop the process's POSIX lock (SQLite keeps such descriptors open).
    createDb(source);
    const reader = new Database(source, { readonly: true });
    try {
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM t').get();
      expect(await quickCheck(source)).toBe('ok');
      const other = spawnSync(
        process.execPath,
        [
          '-e',
          `const D = require('better-sqlite3');
           const db = new D(process.argv[1]); db.pragma('busy_timeout = 0');
           try { db.exec("INSERT INTO t (v) VALUES ('x')"); console.log('written'); } catch (err) { console.log(err.code); }`,
          source,
        ],
        { encoding: 'utf8', cwd: process.cwd() },
      );
      expect(other.stdout.trim()).toBe('SQLITE_BUSY');
    } finally {
      reader.close();
    }
  });

  it('copies a WAL database whose rows are only in the -wal file', async () => {
    const writer = new Database(source);
    try {
      writer.pragma('journal_mode = WAL');
      writer.pragma('wal_autocheckpoint = 0');
      writer.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
                   WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS})
                   INSERT INTO t SELECT i, printf('%050d', i) FROM n;`);
      expect(statSync(`${source}-wal`).size).toBeGreaterThan(statSync(source).size); // the rows are in the WAL

      const backup = await backupSqlite(source, copy);
      expect(backup.integrity).toBe('ok');
      expect(backup.sizeBytes).toBe(statSync(source).size);
      expect(backup.sourceSha256).toBe(await sha256File(source));
      expect(backup.backupSha256).toBe(await sha256File(copy));
      expect(readdirSync(join(dir, 'backup'))).toEqual(['copy.sqlite']);
      expect(countRows(copy)).toBe(ROWS);
    } finally {
      writer.close();
    }
  });

  it('refuses a file that is not a database, naming it, and leaves no backup behind', async () => {
    writeFileSync(source, randomBytes(64 * 1024));
    const err = await rejection(backupSqlite(source, copy));
    expect(err).toBeInstanceOf(DbopsError);
    expect(err).toMatchObject({
      code: ErrorCode.BadInput,
      message: `source ${source} is not a readable SQLite database (SQLITE_NOTADB): check the file`,
    });
    expect(existsSync(copy)).toBe(false);
    expect(readdirSync(join(dir, 'backup'))).toEqual([]);
  });

  it('refuses a corrupt database (quick_check), naming the source, and leaves no backup behind', async () => {
    createDb(source);
    // Overwrite a page in the middle of the file (a leaf of the table) with 0xff: not a b-tree page type.
    const bytes = readFileSync(source);
    const pageSize = bytes.readUInt16BE(16);
    const middle = pageSize * Math.floor(bytes.length / pageSize / 2);
    bytes.fill(0xff, middle, middle + pageSize);
    writeFileSync(source, bytes);

    const err = await rejection(backupSqlite(source, copy));
    expect(err).toBeInstanceOf(DbopsError);
    expect((err as DbopsError).code).toBe(ErrorCode.BadInput);
    expect((err as DbopsError).message).toMatch(
      new RegExp(
        `^source ${source.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is (corrupt|not a readable SQLite database)`,
      ),
    );
    expect(readdirSync(join(dir, 'backup'))).toEqual([]);
  });

  it('refuses a missing source with the path and where it is resolved', async () => {
    const missing = join(dir, 'nowhere.db');
    const err = await rejection(backupSqlite(missing, copy));
    expect(err).toBeInstanceOf(DbopsError);
    expect(err).toMatchObject({
      code: ErrorCode.BadInput,
      message: `source ${missing} does not exist on the worker's host: check the path (the worker resolves it, not the CLI)`,
    });
    expect(existsSync(copy)).toBe(false);
  });
});
