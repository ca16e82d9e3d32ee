/**
 * A schema-and-counts export of one TDengine server over taosAdapter's REST API (rest.ts), for the estate backup:
 * no dump tool for TDengine is installed here, so the backup keeps what REST can read exactly.
 *
 * Two files land in the given folder, each through `<name>.part`, fsync and rename, with its SHA-256:
 * - `tdengine-schema.sql`: for every user database its `CREATE DATABASE` statement (`SHOW CREATE DATABASE`), then
 *   `USE` it, then a `CREATE STABLE` for every supertable (`SHOW CREATE STABLE`) and a `CREATE TABLE` for every
 *   normal table (`SHOW CREATE TABLE`). Databases and tables come in name order, so two exports of an unchanged
 *   server are byte-identical.
 * - `tdengine-rowcounts.json`: the exact `SELECT COUNT(*)` of every supertable (all its child tables) and normal
 *   table, keyed `<db>.<table>`.
 *
 * Limits, on purpose: no row data, no child-table tag values, no streams, topics, views, users or grants.
 * TDengine's own `taosdump` (TDengine tools) is the tool that dumps data; this export records what the data must
 * look like and how much of it there was, so a restore by other means can be checked against it. TDengine has no
 * snapshot transaction: each count is exact at the moment its statement ran, not across the whole export.
 *
 * Every statement runs before the first file is written: a failure (server down, rejected credentials, a table
 * dropped in between) throws the client's DbopsError and leaves no file behind.
 */
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { DbopsError, ErrorCode } from '../../common/errors';
import { writeHashed } from '../files/hashed-write';
import { TdengineRest, TdengineServerError, type TdengineEndpoint, type TdengineResult } from './rest';

/** Name of the schema file in the export folder. */
export const TDENGINE_SCHEMA_FILE = 'tdengine-schema.sql';

/** Name of the row-count file in the export folder. */
export const TDENGINE_ROWCOUNTS_FILE = 'tdengine-rowcounts.json';

/** Databases TDengine keeps for itself (catalog, statistics, taosKeeper monitoring, audit): never exported. */
export const TDENGINE_SYSTEM_DATABASES: ReadonlySet<string> = new Set([
  'information_schema',
  'performance_schema',
  'log',
  'audit',
]);

/** Options of {@link exportTdengine}. */
export interface TdengineExportOptions {
  /** Stops the export between statements and while a file is written. */
  signal?: AbortSignal;
  /** Time each statement may take (default: the endpoint's); `COUNT(*)` of a large supertable can need minutes. */
  timeoutMs?: number;
}

/** One file the export wrote. */
export interface TdengineExportFile {
  /** File name inside the export folder. */
  name: string;
  bytes: number;
  sha256: string;
}

/** What {@link exportTdengine} wrote and counted. */
export interface TdengineExport {
  files: TdengineExportFile[];
  /** User databases exported, in name order. */
  databases: string[];
  /** Exact row count of every supertable and normal table, keyed `<db>.<table>`. */
  rowCounts: Record<string, number>;
}

/** One database as read from the server. */
interface DatabaseSchema {
  name: string;
  createDatabase: string;
  supertables: { name: string; create: string; rows: number }[];
  tables: { name: string; create: string; rows: number }[];
}

/**
 * Exports the schema and exact row counts of every user database of `endpoint` into `dir` (created if missing),
 * as {@link TDENGINE_SCHEMA_FILE} and {@link TDENGINE_ROWCOUNTS_FILE}. Throws the REST client's DbopsError
 * (Unreachable, AuthFailed, DatabaseMissing, BadInput) when a statement fails; then no file is written.
 */
export async function exportTdengine(
  endpoint: TdengineEndpoint,
  dir: string,
  options: TdengineExportOptions = {},
): Promise<TdengineExport> {
  const client = new TdengineRest(endpoint);
  const { signal } = options;
  const run = async (sql: string): Promise<TdengineResult> => {
    signal?.throwIfAborted();
    return client.query(sql, undefined, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs });
  };

  let version: string | null = null;
  try {
    const res = await run('SELECT SERVER_VERSION()');
    const value = cell(res, 0);
    version = value === null ? null : String(value);
  } catch (err) {
    // A server that answers but rejects the function still has a schema to export; anything else is fatal.
    if (!(err instanceof TdengineServerError) || err.code !== ErrorCode.BadInput) throw err;
  }

  const listed = await run('SELECT name FROM information_schema.ins_databases');
  const names = column(listed, 'name')
    .filter((n) => !TDENGINE_SYSTEM_DATABASES.has(n))
    .sort(byName);

  const databases: DatabaseSchema[] = [];
  for (const db of names) {
    const createDatabase = createStatement(await run(`SHOW CREATE DATABASE ${quoteName(db)}`), `database ${db}`);
    const stableNames = column(
      await run(`SELECT stable_name FROM information_schema.ins_stables WHERE db_name = ${quoteLiteral(db)}`),
      'stable_name',
    ).sort(byName);
    const tableNames = column(
      await run(
        `SELECT table_name FROM information_schema.ins_tables WHERE db_name = ${quoteLiteral(db)} AND type = 'NORMAL_TABLE'`,
      ),
      'table_name',
    ).sort(byName);
    const supertables: DatabaseSchema['supertables'] = [];
    for (const name of stableNames) {
      const qualified = `${quoteName(db)}.${quoteName(name)}`;
      const create = createStatement(await run(`SHOW CREATE STABLE ${qualified}`), `supertable ${db}.${name}`);
      supertables.push({ name, create, rows: await countRows(run, qualified) });
    }
    const tables: DatabaseSchema['tables'] = [];
    for (const name of tableNames) {
      const qualified = `${quoteName(db)}.${quoteName(name)}`;
      const create = createStatement(await run(`SHOW CREATE TABLE ${qualified}`), `table ${db}.${name}`);
      tables.push({ name, create, rows: await countRows(run, qualified) });
    }
    databases.push({ name: db, createDatabase, supertables, tables });
  }

  const rowCounts: Record<string, number> = {};
  for (const db of databases) {
    for (const t of [...db.supertables, ...db.tables]) rowCounts[`${db.name}.${t.name}`] = t.rows;
  }

  const schemaText = schemaSql(client.host, version, databases);
  const countsText = `${JSON.stringify(
    {
      host: client.host,
      serverVersion: version,
      exportedAt: new Date().toISOString(),
      exact: true,
      note: 'SELECT COUNT(*) per supertable (all child tables) and normal table; schema and counts only, no row data (use taosdump for data)',
      supertables: Object.fromEntries(
        databases.flatMap((db) => db.supertables.map((t) => [`${db.name}.${t.name}`, t.rows])),
      ),
      tables: Object.fromEntries(databases.flatMap((db) => db.tables.map((t) => [`${db.name}.${t.name}`, t.rows]))),
      rowCounts,
    },
    null,
    2,
  )}\n`;

  const files: TdengineExportFile[] = [];
  for (const [name, text] of [
    [TDENGINE_SCHEMA_FILE, schemaText],
    [TDENGINE_ROWCOUNTS_FILE, countsText],
  ] as const) {
    const written = await writeHashed(Readable.from([Buffer.from(text, 'utf8')]), join(dir, name), {
      ...(signal ? { signal } : {}),
    });
    files.push({ name: basename(written.path), bytes: written.bytes, sha256: written.sha256 });
  }
  return { files, databases: databases.map((d) => d.name), rowCounts };
}

/** The text of the schema file: a header saying what it is and is not, then one block per database. */
function schemaSql(host: string, version: string | null, databases: DatabaseSchema[]): string {
  const lines = [
    `-- TDengine schema exported by dbops over REST from ${host}`,
    `-- Server version: ${version ?? 'unknown'}`,
    '-- Schema only: databases, supertables and normal tables. No rows, no child tables (they carry tag values',
    '-- and are recreated with their data), no streams, topics, views or users. Use taosdump to back up data.',
    '',
  ];
  if (databases.length === 0) lines.push('-- No user databases.', '');
  for (const db of databases) {
    lines.push(`-- Database ${db.name}`, terminated(db.createDatabase), `USE ${quoteName(db.name)};`, '');
    for (const t of db.supertables) lines.push(`-- Supertable ${db.name}.${t.name}`, terminated(t.create), '');
    for (const t of db.tables) lines.push(`-- Table ${db.name}.${t.name}`, terminated(t.create), '');
  }
  return lines.join('\n');
}

/** Exact `COUNT(*)`; a supertable without child tables answers with no row, which is 0. */
async function countRows(run: (sql: string) => Promise<TdengineResult>, qualified: string): Promise<number> {
  const value = cell(await run(`SELECT COUNT(*) FROM ${qualified}`), 0);
  if (value === null) return 0;
  const n = Number(value);
  if (!Number.isFinite(n))
    throw new DbopsError(ErrorCode.BadInput, `COUNT(*) of ${qualified} answered "${String(value)}", not a number`);
  return n;
}

/**
 * The statement of a `SHOW CREATE …` answer: the column whose name starts with `Create` (`Create Database`,
 * `Create Table`), else the last column.
 */
function createStatement(res: TdengineResult, what: string): string {
  const col = res.columns.find((c) => /^create/i.test(c.name)) ?? res.columns[res.columns.length - 1];
  const value = col === undefined ? undefined : res.rows[0]?.[col.name];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new DbopsError(ErrorCode.BadInput, `SHOW CREATE for ${what} answered no statement`);
  }
  return value.trim();
}

/** Values of a column (else the first column) as strings, nulls dropped. */
function column(res: TdengineResult, name: string): string[] {
  const col = res.columns.find((c) => c.name.toLowerCase() === name) ?? res.columns[0];
  if (col === undefined) return [];
  return res.rows.map((r) => r[col.name]).flatMap((v) => (v === null || v === undefined ? [] : [String(v)]));
}

function cell(res: TdengineResult, index: number): unknown {
  const col = res.columns[index];
  return col === undefined ? null : (res.rows[0]?.[col.name] ?? null);
}

function terminated(statement: string): string {
  return statement.endsWith(';') ? statement : `${statement};`;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A TDengine identifier in backquotes (names come from the server; a backquote cannot occur in one). */
function quoteName(name: string): string {
  return `\`${name.replace(/`/g, '')}\``;
}

/** A TDengine string literal. */
function quoteLiteral(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
