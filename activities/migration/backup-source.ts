/**
 * Step 1 of a migration: an online backup of the SQLite file (better-sqlite3 `backup()`, consistent even
 * with a WAL or a writer) with both files' SHA-256, and a `pg_dump -Fc` of the target schema when it
 * exists. Every later step reads the backup copy, never the source.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { DbopsError, ErrorCode } from '../../common/errors';

/** What the backup step produced. */
export interface SourceBackup {
  sourcePath: string;
  sourceSha256: string;
  backupPath: string;
  backupSha256: string;
  sizeBytes: number;
  integrity: string;
}

/** Copies the source into `runDir/source-backup.sqlite` after checking it is a healthy SQLite database. */
export async function backupSqlite(sourcePath: string, runDir: string): Promise<SourceBackup> {
  if (!existsSync(sourcePath)) {
    throw new DbopsError(
      ErrorCode.BadInput,
      `source ${sourcePath} does not exist on the worker's host: check the path (the worker resolves it, not the CLI)`,
    );
  }
  mkdirSync(runDir, { recursive: true });
  const backupPath = join(runDir, 'source-backup.sqlite');
  let db: Database.Database | undefined;
  let integrity: string;
  try {
    db = new Database(sourcePath, { readonly: true, fileMustExist: true });
    integrity = String(db.pragma('quick_check', { simple: true })).replace(/\s*\n\s*/g, '; '); // one line
    if (integrity !== 'ok')
      throw new DbopsError(
        ErrorCode.BadInput,
        `source ${sourcePath} is corrupt (PRAGMA quick_check: ${integrity}); restore it from a backup first`,
      );
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

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** `pg_dump -Fc -n <schema>` into `path`; the password travels in PGPASSWORD, never in argv. */
export async function dumpSchema(targetUrl: string, schema: string, path: string): Promise<void> {
  const url = new URL(targetUrl);
  const password = decodeURIComponent(url.password);
  url.password = '';
  const env = { ...process.env, ...(password ? { PGPASSWORD: password } : {}) };
  const stderr: string[] = [];
  const child = spawn(
    'pg_dump',
    ['--format=custom', `--schema=${schema}`, `--file=${path}`, `--dbname=${url.toString()}`],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`pg_dump of schema ${schema} failed (exit ${code}): ${stderr.join('').trim()}`);
}
