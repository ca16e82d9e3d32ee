/**
 * Logical backups of one PostgreSQL database: `pg_dump` in the formats asked for (custom `-Fc`, plain SQL
 * compressed, schema only) plus the server's globals (`pg_dumpall --globals-only --no-role-passwords`),
 * all from ONE snapshot: a REPEATABLE READ transaction exports it (`pg_export_snapshot`), counts the rows
 * of every table in it, and stays open while each `pg_dump --snapshot` runs, so the manifest's row counts
 * are exactly what the dump holds and a restore can be compared with them.
 *
 * The plain and schema dumps stream from pg_dump's stdout into the file while their SHA-256 is computed.
 * The custom format is written by pg_dump itself (`--file`): pg_dump seeks back to its table of contents
 * at the end to record where each table's data starts, which is what lets `pg_restore -j` restore tables
 * in parallel; a piped custom dump has no offsets. Its hash is read right after (from the page cache).
 */
import { rename, rm, stat } from 'node:fs/promises';
import type pg from 'pg';
import { DbopsError, ErrorCode } from '../../common/errors';
import { writeHashed, type HashedFile } from '../files/hashed-write';
import { sha256File } from '../files/sha256';
import { startTool, toolOutput } from '../files/tool-process';
import { libpqEnv } from './dump';
import { qualified } from './identifiers';

/** The pg_dump formats a backup can hold. */
export type PgDumpFormat = 'custom' | 'plain' | 'schema';

/** A PostgreSQL server a backup reads, with the password bound to it (never in argv). */
export interface PgServer {
  pool: pg.Pool;
  url: string;
  password?: string;
  /** For messages: the connection name or password-free URL. */
  label: string;
}

/** One file of a PostgreSQL backup. */
export interface PgBackupFile extends HashedFile {
  kind: PgDumpFormat | 'globals';
  compression: 'pg-custom' | 'gzip' | 'none';
}

/** What a PostgreSQL backup produced. */
export interface PgBackup {
  files: PgBackupFile[];
  /** Rows per table (`schema.table`), counted in the dump's snapshot. */
  rowCounts: Record<string, number>;
  serverVersion: string;
  database: string;
  toolVersion: string;
  notes: string[];
}

const INSTALL_HINT = 'the PostgreSQL client of the server major version or newer (Debian: postgresql-client-NN)';

/** Name of each format's file inside the backup folder. */
export const PG_FILE_NAMES: Readonly<Record<PgBackupFile['kind'], string>> = {
  custom: 'dump.pgcustom',
  plain: 'dump.sql.gz',
  schema: 'schema.sql',
  globals: 'globals.sql',
};

/** The major version of a libpq tool (`pg_dump (PostgreSQL) 15.20 …` → 15). */
export async function pgToolMajor(
  tool: 'pg_dump' | 'pg_restore' | 'pg_dumpall' | 'psql',
): Promise<{ major: number; version: string }> {
  const out = await toolOutput(tool, ['--version'], { installHint: INSTALL_HINT });
  const match = /(\d+)(?:\.(\d+))?/.exec(out);
  if (!match) throw new Error(`could not read the version of ${tool} from "${out.trim()}"`);
  return { major: Number(match[1]), version: out.trim() };
}

/** Refuses a pg_dump older than the server (it would refuse to dump, or dump wrongly). */
export async function checkPgDumpVersion(server: PgServer): Promise<{ tool: string; serverVersion: string }> {
  const { major, version } = await pgToolMajor('pg_dump');
  const { rows } = await server.pool.query<{ num: string; version: string }>(
    `SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version`,
  );
  const serverMajor = Math.floor(Number(rows[0]?.num) / 10_000);
  if (serverMajor > major) {
    throw new DbopsError(
      ErrorCode.ToolMissing,
      `${version} is older than the server of ${server.label} (PostgreSQL ${rows[0]?.version}): pg_dump must be version ${serverMajor} or newer — install postgresql-client-${serverMajor} on the worker's host`,
    );
  }
  return { tool: version, serverVersion: rows[0]?.version ?? '' };
}

/** Rows of every ordinary table outside the system schemas, as `schema.table` → count. */
export async function countTableRows(client: pg.Pool | pg.PoolClient): Promise<Record<string, number>> {
  const { rows: tables } = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1, 2`,
  );
  const counts: Record<string, number> = {};
  for (const { schema, name } of tables) {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualified(schema, name)}`);
    counts[`${schema}.${name}`] = Number(rows[0]?.n ?? 0);
  }
  return counts;
}

/**
 * Dumps the database of `server` into `dir` in `formats` (+ globals), from one exported snapshot, and
 * counts its rows in that snapshot. Files appear at their final names only when complete.
 */
export async function backupPostgres(
  server: PgServer,
  dir: string,
  formats: readonly PgDumpFormat[],
  options: { signal?: AbortSignal; onBytes?: (file: string, bytes: number) => void } = {},
): Promise<PgBackup> {
  const { tool, serverVersion } = await checkPgDumpVersion(server);
  const url = new URL(server.url);
  url.password = '';
  const dbUrl = url.toString();
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username);
  const env = libpqEnv(server.password);
  const client = await server.pool.connect();
  const files: PgBackupFile[] = [];
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const { rows } = await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    const snapshot = rows[0]?.id ?? '';
    // The counts run in the exported snapshot on this connection while the first pg_dump runs on its own:
    // both read the same data, and counting adds no wall time to a dump that is bound by compression.
    const counting = countTableRows(client).then(
      (counts) => ({ counts }),
      (error: unknown) => ({ error }),
    );
    for (const format of formats) {
      const path = `${dir}/${PG_FILE_NAMES[format]}`;
      const label = `pg_dump (${format}) of ${server.label}`;
      if (format === 'custom') {
        const part = `${path}.part`;
        try {
          await startTool(
            'pg_dump',
            ['--format=custom', `--snapshot=${snapshot}`, `--file=${part}`, `--dbname=${dbUrl}`],
            { env, signal: options.signal, label, installHint: INSTALL_HINT },
          ).done;
          await rename(part, path);
        } finally {
          await rm(part, { force: true });
        }
        const { size } = await stat(path);
        files.push({ kind: format, compression: 'pg-custom', path, bytes: size, sha256: await sha256File(path) });
      } else {
        const args =
          format === 'plain'
            ? ['--format=plain', '--compress=6', `--snapshot=${snapshot}`, `--dbname=${dbUrl}`]
            : ['--format=plain', '--schema-only', `--snapshot=${snapshot}`, `--dbname=${dbUrl}`];
        const running = startTool('pg_dump', args, {
          env,
          signal: options.signal,
          stdout: 'pipe',
          label,
          installHint: INSTALL_HINT,
        });
        const written = await writeHashed(running.stdout!, path, {
          producerDone: running.done,
          signal: options.signal,
          onBytes: (n) => options.onBytes?.(PG_FILE_NAMES[format], n),
        });
        files.push({ kind: format, compression: format === 'plain' ? 'gzip' : 'none', ...written });
      }
    }
    const counted = await counting;
    if ('error' in counted) throw counted.error;
    const rowCounts = counted.counts;
    await client.query('COMMIT');
    const globals = startTool('pg_dumpall', ['--globals-only', '--no-role-passwords', `--dbname=${dbUrl}`], {
      env,
      signal: options.signal,
      stdout: 'pipe',
      label: `pg_dumpall --globals-only of ${server.label}`,
      installHint: INSTALL_HINT,
    });
    const globalsPath = `${dir}/${PG_FILE_NAMES.globals}`;
    files.push({
      kind: 'globals',
      compression: 'none',
      ...(await writeHashed(globals.stdout!, globalsPath, { producerDone: globals.done, signal: options.signal })),
    });
    return {
      files,
      rowCounts,
      serverVersion,
      database,
      toolVersion: tool,
      notes: [
        'roles and tablespaces are in globals.sql without passwords (--no-role-passwords): set them again after a restore to a new server',
      ],
    };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
