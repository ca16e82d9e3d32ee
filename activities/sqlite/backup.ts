/**
 * Online backup of a SQLite file (better-sqlite3 `backup()`, consistent even with a WAL or a writer), after
 * `PRAGMA quick_check` proves the file healthy, with both files' SHA-256. Never writes the source.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { DbopsError, ErrorCode } from '../../common/errors';
import { sha256File } from '../files/sha256';
import { quickCheck } from './file-thread';

/** What a backup produced. */
export interface SqliteBackup {
  sourcePath: string;
  sourceSha256: string;
  backupPath: string;
  backupSha256: string;
  sizeBytes: number;
  integrity: string;
}

/** Copies the source into `backupPath` after checking it is a healthy SQLite database. */
export async function backupSqlite(sourcePath: string, backupPath: string): Promise<SqliteBackup> {
  if (!existsSync(sourcePath)) {
    throw new DbopsError(
      ErrorCode.BadInput,
      `source ${sourcePath} does not exist on the worker's host: check the path (the worker resolves it, not the CLI)`,
    );
  }
  mkdirSync(dirname(backupPath), { recursive: true });
  let db: Database.Database | undefined;
  let integrity: string;
  try {
    integrity = await quickCheck(sourcePath); // on a thread: minutes on a multi-GB file
    if (integrity !== 'ok')
      throw new DbopsError(
        ErrorCode.BadInput,
        `source ${sourcePath} is corrupt (PRAGMA quick_check: ${integrity}); restore it from a backup first`,
      );
    db = new Database(sourcePath, { readonly: true, fileMustExist: true });
    await db.backup(backupPath);
  } catch (err) {
    if (err instanceof DbopsError) throw err;
    const code = String((err as { code?: unknown }).code ?? '');
    if (code.startsWith('SQLITE_NOTADB') || code.startsWith('SQLITE_CORRUPT')) {
      throw new DbopsError(
        ErrorCode.BadInput,
        `source ${sourcePath} is not a readable SQLite database (${code}): check the file`,
        { cause: err },
      );
    }
    throw err;
  } finally {
    db?.close();
  }
  return {
    sourcePath,
    sourceSha256: await sha256File(sourcePath),
    backupPath,
    backupSha256: await sha256File(backupPath),
    sizeBytes: statSync(sourcePath).size,
    integrity,
  };
}
