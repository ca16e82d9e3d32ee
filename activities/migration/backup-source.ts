/**
 * Step 1 of a migration: an online backup of the SQLite source (with both files' SHA-256) and a
 * `pg_dump -Fc` of the target schema when it exists, in the run's artifact folder. Every later step reads
 * the backup copy, never the source.
 */
import { join } from 'node:path';
import type pg from 'pg';
import { dumpSchema } from '../postgres/dump';
import { schemaExists } from '../postgres/schemas';
import { backupSqlite, type SqliteBackup } from '../sqlite/backup';

/** What the backup step produced. */
export interface SourceBackup extends SqliteBackup {
  /** The pg_dump of the target schema as it was, or null when it did not exist. */
  targetDump: string | null;
  runDir: string;
}

/** Backs up the source into `runDir/source-backup.sqlite` and dumps the target schema beside it. */
export async function backupSource(
  sourcePath: string,
  target: { pool: pg.Pool; url: string; password?: string },
  schema: string,
  runDir: string,
): Promise<SourceBackup> {
  const backup = await backupSqlite(sourcePath, join(runDir, 'source-backup.sqlite'));
  let targetDump: string | null = null;
  if (await schemaExists(target.pool, schema)) {
    targetDump = join(runDir, `target-${schema}.dump`);
    await dumpSchema(target, schema, targetDump);
  }
  return { ...backup, targetDump, runDir };
}
