/** Opens a SQLite file read-only and reports its library version and size; never writes the file. */
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { DbopsError, ErrorCode } from '../../common/errors';
import type { ServerFacts } from '../../common/server-facts';

/** Fails with a non-retryable DbopsError when the file is missing or is not a SQLite database. */
export function describeSqlite(path: string): ServerFacts {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new DbopsError(
      ErrorCode.BadInput,
      `SQLite file ${path} does not exist or cannot be read: check the path (it is resolved on the worker's host)`,
    );
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const version = db.prepare('SELECT sqlite_version() AS v').pluck().get() as string;
    // Reading the schema is what detects "file is not a database" (SQLITE_NOTADB).
    db.prepare('SELECT count(*) FROM sqlite_master').pluck().get();
    return { version, database: path, sizeBytes: size };
  } catch (err) {
    const code = String((err as { code?: unknown }).code ?? '');
    throw new DbopsError(
      ErrorCode.BadInput,
      `${path} is not a readable SQLite database (${code}: ${(err as Error).message}); check that it is the right file and not corrupt`,
      { cause: err },
    );
  } finally {
    db?.close();
  }
}
