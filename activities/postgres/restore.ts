/**
 * Reading PostgreSQL dumps back: the full structural read that proves a custom dump is whole
 * (`pg_restore -f /dev/null` — `pg_restore --list` exits 0 on truncated and corrupted files), restores with
 * `pg_restore` (custom) or `psql` (plain SQL, stopping at the first error, in one transaction), and the
 * database-level helpers a restore needs: is a database there, is it empty, create it, drop it.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { DbopsError, ErrorCode } from '../../common/errors';
import { runTool } from '../files/tool-process';
import { countTableRows } from './backup';
import { libpqEnv } from './dump';
import { qi, ql } from './identifiers';

/** A server reached with an explicit password (never argv, never PGPASSWORD of the worker). */
export interface PgEndpoint {
  url: string;
  password?: string;
  label: string;
}

const INSTALL_HINT = 'the PostgreSQL client (Debian: postgresql-client)';

/** The same server's URL with another database name. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.password = '';
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** The database a URL names (or the user name, libpq's default). */
export function databaseOf(url: string): string {
  const u = new URL(url);
  return decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username);
}

/** Runs `body` with a short-lived client to `endpoint` (not the worker's pools: scratch databases come and go). */
export async function withClient<T>(endpoint: PgEndpoint, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const { password: _ignored, ...params } = parseIntoClientConfig(withDatabase(endpoint.url, databaseOf(endpoint.url)));
  const client = new pg.Client({
    ...params,
    password: endpoint.password ?? '',
    connectionTimeoutMillis: 10_000,
    application_name: 'dbops',
  });
  client.on('error', () => undefined); // a dropped connection fails the running query, which reports it
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** `pg_restore -f /dev/null`: reads every block of a custom dump; throws BackupCorrupt when it cannot. */
export async function readCheckCustomDump(path: string, signal?: AbortSignal): Promise<void> {
  try {
    await runTool('pg_restore', ['--file=/dev/null', path], {
      signal,
      label: `pg_restore read of ${path}`,
      installHint: INSTALL_HINT,
    });
  } catch (err) {
    if (err instanceof DbopsError || (err as Error).name === 'AbortError') throw err;
    throw new DbopsError(
      ErrorCode.BackupCorrupt,
      `${path} cannot be read back in full (${(err as Error).message}): this copy of the backup is damaged`,
    );
  }
}

/** Whether database `name` exists on the server of `admin`, and how many user tables it has. */
export async function databaseState(
  admin: PgEndpoint,
  name: string,
): Promise<{ exists: boolean; tables: number; comment: string | null }> {
  const { rows } = await withClient(admin, (c) =>
    c.query<{ comment: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
      [name],
    ),
  );
  if (rows.length === 0) return { exists: false, tables: 0, comment: null };
  const tables = await withClient({ ...admin, url: withDatabase(admin.url, name) }, async (c) => {
    const r = await c.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_toast%'`,
    );
    return Number(r.rows[0]?.n ?? 0);
  });
  return { exists: true, tables, comment: rows[0]?.comment ?? null };
}

/** `CREATE DATABASE name` (template0, so nothing from template1 leaks in), with an optional comment. */
export async function createDatabase(admin: PgEndpoint, name: string, comment?: string): Promise<void> {
  await withClient(admin, async (c) => {
    await c.query(`CREATE DATABASE ${qi(name)} TEMPLATE template0`);
    if (comment !== undefined) await c.query(`COMMENT ON DATABASE ${qi(name)} IS ${ql(comment)}`);
  });
}

/** `DROP DATABASE IF EXISTS name WITH (FORCE)` (PostgreSQL 13+: ends sessions still connected to it). */
export async function dropDatabase(admin: PgEndpoint, name: string): Promise<void> {
  await withClient(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${qi(name)} WITH (FORCE)`));
}

/** Rows per table of the database `endpoint` names. */
export async function databaseRowCounts(endpoint: PgEndpoint): Promise<Record<string, number>> {
  return withClient(endpoint, (c) => countTableRows(c as unknown as pg.PoolClient));
}

/** Options of a restore. */
export interface PgRestoreOptions {
  jobs?: number;
  /** Drop each object before creating it (`--clean --if-exists`). */
  clean?: boolean;
  /** Objects owned by the connecting user instead of the dump's owners (scratch restores). */
  noOwner?: boolean;
  signal?: AbortSignal;
}

/** `pg_restore --exit-on-error` of a custom dump into the database `target` names. */
export async function restoreCustomDump(
  target: PgEndpoint,
  path: string,
  options: PgRestoreOptions = {},
): Promise<void> {
  const args = [
    `--dbname=${withDatabase(target.url, databaseOf(target.url))}`,
    '--exit-on-error',
    `--jobs=${Math.max(1, options.jobs ?? 2)}`,
    ...(options.clean ? ['--clean', '--if-exists'] : []),
    ...(options.noOwner ? ['--no-owner', '--no-acl'] : []),
    path,
  ];
  await runTool('pg_restore', args, {
    env: libpqEnv(target.password),
    signal: options.signal,
    label: `pg_restore into ${target.label}`,
    installHint: INSTALL_HINT,
  });
}

/** Plain SQL (optionally gzip) through `psql` in one transaction, stopping at the first error. */
export async function restorePlainDump(
  target: PgEndpoint,
  path: string,
  gzip: boolean,
  signal?: AbortSignal,
): Promise<void> {
  const file = createReadStream(path);
  await runTool(
    'psql',
    [
      '--no-psqlrc',
      '--quiet',
      '--set=ON_ERROR_STOP=1',
      '--single-transaction',
      `--dbname=${withDatabase(target.url, databaseOf(target.url))}`,
      '--file=-',
    ],
    {
      env: libpqEnv(target.password),
      signal,
      stdin: gzip ? file.pipe(createGunzip()) : file,
      label: `psql restore into ${target.label}`,
      installHint: INSTALL_HINT,
    },
  );
}
