/**
 * Logical backup of ONE MySQL/MariaDB database with `mariadb-dump` (MySQL's `mysqldump` when mariadb-dump is not
 * installed), gzip-compressed and hashed on the way to disk, plus exact row counts that describe the same data
 * as the dump, for the manifest and for verifying a test restore.
 *
 * The database is the positional argument without `--databases`: the dump has no `CREATE DATABASE`/`USE` and
 * restores into any database name. The password never reaches argv (visible in `ps`): it goes into a 0600
 * `--defaults-extra-file` in a private temporary directory, removed afterwards, which also pins host, port,
 * user and TCP so the worker's own ~/.my.cnf or MYSQL_PWD cannot add credentials for another server.
 *
 * Row counts in the dump's snapshot. `--single-transaction` makes the tool read everything in its own
 * `START TRANSACTION WITH CONSISTENT SNAPSHOT`, private to its connection. So we:
 *   1. take `FLUSH TABLES WITH READ LOCK` on connection A (lock_wait_timeout 10 s): no commit can happen;
 *   2. open our own consistent snapshot on connection B — it sees exactly the committed state under the lock;
 *   3. start the dump tool and release the lock as soon as the tool has provably opened its snapshot, i.e. as
 *      soon as its output holds a line it only writes after that point (`-- Table structure for table …`,
 *      `-- Dumping routines/events …`, view structures) or it has exited;
 *   4. count every base table in B's snapshot (after the unlock: the snapshot no longer needs the lock).
 * Both snapshots were taken while no commit could happen, so they hold the same InnoDB data.
 * Evidence (MariaDB/server client/mysqldump.c, main()): `write_header()` (the `-- MariaDB dump` comments and
 * `SET` lines only) runs first; then `start_transaction()` sends `SET SESSION TRANSACTION ISOLATION LEVEL
 * REPEATABLE READ` and `START TRANSACTION WITH CONSISTENT SNAPSHOT` (in a versioned comment); only afterwards
 * `dump_databases()` prints the per-object comments. stdout is a stdio buffer, so output may reach us later than
 * it was written, never earlier: seeing such a line proves the snapshot exists. The lock is held for at most
 * {@link LOCK_HOLD_LIMIT_MS}; past that it is released and `rowCountsConsistent` is false.
 * Without the RELOAD privilege (error 1227), or when the lock cannot be had within lock_wait_timeout (a long
 * query holds tables), we count in our own snapshot without the lock and report `rowCountsConsistent: false`.
 * Non-InnoDB tables (MyISAM, Aria, MEMORY…) are read by the tool whenever it reaches them, never in a snapshot:
 * they are listed in `nonTransactionalTables` so the manifest can say so.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline, Transform } from 'node:stream';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { DbopsError, ErrorCode } from '../../common/errors';
import { redactSecrets } from '../../common/secret-guard';
import { classifyDriverError } from '../connections/classify-error';
import { writeHashed } from '../files/hashed-write';
import { startTool, toolOutput } from '../files/tool-process';

/** A MySQL/MariaDB server and database: the URL (no password) and the password bound to it. */
export interface MysqlServer {
  url: string;
  password?: string;
}

/** What {@link dumpMysql} produced. */
export interface MysqlDump {
  path: string;
  bytes: number;
  sha256: string;
  /** Exact `COUNT(*)` per base table, in the dump's snapshot when `rowCountsConsistent`. */
  rowCounts: Record<string, number>;
  /** Base tables not stored in InnoDB: neither the dump nor the counts see them in a snapshot. */
  nonTransactionalTables: string[];
  /** True when the counts were taken in the same snapshot as the dump (see the file comment). */
  rowCountsConsistent: boolean;
  serverVersion: string;
  /** First line of the dump tool's `--version`. */
  tool: string;
}

/** Options of {@link dumpMysql}. */
export interface MysqlDumpOptions {
  signal?: AbortSignal;
  /** Compressed bytes written so far, about once a second. */
  onBytes?: (bytes: number) => void;
}

/** Host, port, user and database of a mysql:// (or mariadb://) URL. */
export interface MysqlEndpoint {
  host: string;
  port: number;
  user?: string;
  /** Empty when the URL names none. */
  database: string;
  /** Safe to show: scheme://user@host:port/database. */
  label: string;
}

/** Longest the global read lock may be held while waiting for the dump tool's snapshot. */
export const LOCK_HOLD_LIMIT_MS = 30_000;
const LOCK_WAIT_TIMEOUT_S = 10;
const MAX_PACKET = '--max-allowed-packet=1073741824';
const CLIENT_INSTALL_HINT = 'the MariaDB client tools (Debian/Ubuntu: mariadb-client) or mysql-client';

// Lines mysqldump/mariadb-dump write only after START TRANSACTION WITH CONSISTENT SNAPSHOT (never in the header).
const AFTER_SNAPSHOT =
  /^-- (Table structure for table|Temporary table structure for view|Final view structure for view|Dumping data for table|Dumping routines for database|Dumping events for database) /m;

/** Dumps the database named in `server.url` into `path` (gzip), with its SHA-256 and row counts. */
export async function dumpMysql(server: MysqlServer, path: string, options: MysqlDumpOptions = {}): Promise<MysqlDump> {
  const endpoint = parseMysqlUrl(server.url, true);
  const label = endpoint.label;
  const tool = await findClientTool(['mariadb-dump', 'mysqldump']);
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const lockConn = await connectMysql(server, endpoint.database, label);
  let snapConn: Connection | undefined;
  let locked = false;
  let writing: Promise<{ path: string; bytes: number; sha256: string }> | undefined;
  try {
    const [versionRows] = await lockConn.query<RowDataPacket[]>('SELECT VERSION() AS version');
    const serverVersion = String(versionRows[0]?.version ?? '');
    locked = await takeGlobalReadLock(lockConn);
    snapConn = await connectMysql(server, endpoint.database, label);
    await snapConn.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await snapConn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
    // Listed under the lock (no DDL can run) when we have it.
    const tables = await listBaseTables(lockConn, endpoint.database);

    const result = await withClientDefaults(server, endpoint, async (defaultsArg) => {
      const args = [defaultsArg, ...dumpOptions(tool.version), endpoint.database];
      const running = startTool(tool.command, args, {
        env: clientEnv(),
        signal: stop.signal,
        stdout: 'pipe',
        label: `${tool.command} of ${label}`,
        installHint: CLIENT_INSTALL_HINT,
      });
      const watcher = snapshotWatcher();
      const source = pipeline(running.stdout as NonNullable<typeof running.stdout>, watcher.stream, () => undefined);
      writing = writeHashed(source, path, {
        gzip: true,
        producerDone: running.done,
        onBytes: options.onBytes,
        signal: stop.signal,
      });
      writing.catch(() => undefined); // awaited below; this only marks it handled while we count

      let consistent = locked;
      if (locked) {
        let timer: NodeJS.Timeout | undefined;
        const limit = new Promise<'limit'>(
          (resolve) => (timer = setTimeout(() => resolve('limit'), LOCK_HOLD_LIMIT_MS)),
        );
        try {
          const outcome = await Promise.race([watcher.seen.then(() => 'seen' as const), writing, limit]);
          if (outcome === 'limit') consistent = false;
        } finally {
          clearTimeout(timer);
        }
        await lockConn.query('UNLOCK TABLES');
        locked = false;
      }
      const rowCounts = await countRows(snapConn as Connection, endpoint.database, tables);
      await (snapConn as Connection).query('COMMIT');
      const file = await writing;
      return {
        ...file,
        rowCounts,
        nonTransactionalTables: tables.filter((t) => t.engine.toLowerCase() !== 'innodb').map((t) => t.name),
        rowCountsConsistent: consistent,
        serverVersion,
        tool: tool.version,
      };
    });
    return result;
  } catch (err) {
    stop.abort();
    if (writing) await writing.catch(() => undefined);
    if (options.signal?.aborted) throw err; // cancelled: not a failure of the server or the tool
    throw classifyMysqlFailure(err, label, 'dump');
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (locked) await lockConn.query('UNLOCK TABLES').catch(() => undefined);
    await lockConn.end().catch(() => undefined);
    await snapConn?.end().catch(() => undefined);
  }
}

/** FLUSH TABLES WITH READ LOCK with a short wait; false when not permitted (1227) or not granted in time (1205). */
async function takeGlobalReadLock(conn: Connection): Promise<boolean> {
  await conn.query(`SET SESSION lock_wait_timeout = ${LOCK_WAIT_TIMEOUT_S}`);
  try {
    await conn.query('FLUSH TABLES WITH READ LOCK');
    return true;
  } catch (err) {
    const errno = (err as { errno?: number }).errno;
    if (errno === 1227 || errno === 1205) return false;
    throw err;
  }
}

/** A pass-through stream whose `seen` resolves once the dump tool's output proves its snapshot is open. */
function snapshotWatcher(): { stream: Transform; seen: Promise<void> } {
  let markSeen: () => void = () => undefined;
  const seen = new Promise<void>((resolve) => (markSeen = resolve));
  let found = false;
  let tail = '';
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (!found) {
        const text = tail + chunk.toString('latin1');
        if (AFTER_SNAPSHOT.test(text)) {
          found = true;
          markSeen();
        } else tail = text.slice(-200);
      }
      done(null, chunk);
    },
  });
  return { stream, seen };
}

/** The dump tool's arguments after the defaults file, for the tool whose `--version` line is given. */
function dumpOptions(version: string): string[] {
  const args = [
    '--single-transaction',
    '--quick',
    '--routines',
    '--events',
    '--triggers',
    '--hex-blob',
    '--default-character-set=utf8mb4',
    '--no-tablespaces',
    '--add-drop-table',
    // The snapshot detection reads the per-object comments: a my.cnf with skip-comments must not remove them.
    '--comments',
    MAX_PACKET,
  ];
  if (!/mariadb/i.test(version)) {
    // Oracle's mysqldump: no GTID_PURGED statement (it would fail on restore into a server with GTIDs); 8.0+
    // asks for column histograms that MariaDB and MySQL 5.7 servers do not have.
    const [major = 0, minor = 0] = (/Distrib (\d+)\.(\d+)/.exec(version) ?? /Ver (\d+)\.(\d+)/.exec(version) ?? [])
      .slice(1)
      .map(Number);
    if (major > 5 || (major === 5 && minor >= 6)) args.push('--set-gtid-purged=OFF');
    if (major >= 8) args.push('--column-statistics=0');
  }
  return args;
}

/** A base table and its storage engine. */
export interface BaseTable {
  name: string;
  engine: string;
}

/** Base tables of `database` (views and sequences excluded), by name. */
export async function listBaseTables(conn: Connection, database: string): Promise<BaseTable[]> {
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT TABLE_NAME AS name, COALESCE(ENGINE, '') AS engine FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') ORDER BY TABLE_NAME`,
    [database],
  );
  return rows.map((r) => ({ name: String(r.name), engine: String(r.engine) }));
}

/** Exact `SELECT COUNT(*)` of each table, on `conn` (in whatever transaction it has open). */
export async function countRows(
  conn: Connection,
  database: string,
  tables: readonly BaseTable[],
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const [rows] = await conn.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM ${quoteIdentifier(database)}.${quoteIdentifier(table.name)}`,
    );
    counts[table.name] = Number(rows[0]?.n ?? 0);
  }
  return counts;
}

/** A MySQL identifier in backticks (embedded backticks doubled). */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** Parses a mysql:// or mariadb:// URL; `needDatabase` refuses a URL without a database. */
export function parseMysqlUrl(url: string, needDatabase = false): MysqlEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DbopsError(
      ErrorCode.BadInput,
      `${redactSecrets(url)} is not a valid MySQL URL (mysql://user@host:port/db)`,
    );
  }
  if (!/^(mysql|mariadb):$/i.test(parsed.protocol)) {
    throw new DbopsError(ErrorCode.BadInput, `${redactSecrets(url)} is not a mysql:// or mariadb:// URL`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost';
  const port = parsed.port ? Number(parsed.port) : 3306;
  const user = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const label = `${parsed.protocol}//${user ? `${parsed.username}@` : ''}${parsed.hostname}:${port}/${parsed.pathname.replace(/^\//, '')}`;
  if (needDatabase && database === '') {
    throw new DbopsError(
      ErrorCode.BadInput,
      `${label} names no database: add it to the URL (mysql://user@host:port/db)`,
    );
  }
  // The tools take the database as a positional argument: a leading '-' would be read as an option.
  if (database.startsWith('-') || database.length > 64 || database.includes('\0')) {
    throw new DbopsError(ErrorCode.BadInput, `${label}: "${database}" is not a usable database name`);
  }
  return { host, port, user, database, label };
}

/** A mysql2 connection to `database` (null: none) on the server of `server.url`, failures classified. */
export async function connectMysql(server: MysqlServer, database: string | null, label: string): Promise<Connection> {
  const url = new URL(server.url);
  url.password = '';
  url.pathname = database === null ? '' : `/${encodeURIComponent(database)}`;
  try {
    return await createConnection({
      uri: url.toString(),
      ...(server.password !== undefined ? { password: server.password } : {}),
      connectTimeout: 10_000,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
    });
  } catch (err) {
    throw classifyMysqlFailure(err, label, 'connect');
  }
}

/** The first of `candidates` on PATH and its `--version` line; ToolMissing when none is. */
export async function findClientTool(candidates: readonly string[]): Promise<{ command: string; version: string }> {
  for (const command of candidates) {
    try {
      const out = await toolOutput(command, ['--version'], { env: clientEnv() });
      return { command, version: out.trim().split('\n')[0] ?? command };
    } catch (err) {
      if (err instanceof DbopsError && err.code === ErrorCode.ToolMissing) continue;
      throw err;
    }
  }
  throw new DbopsError(
    ErrorCode.ToolMissing,
    `${candidates.join(' and ')} are not installed on the worker's host (not found on PATH): install ${CLIENT_INSTALL_HINT}`,
  );
}

/** The worker's environment for a MySQL client tool, without MYSQL_PWD (only the bound password is used). */
export function clientEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.MYSQL_PWD;
  return env;
}

/**
 * Runs `body` with `--defaults-extra-file=<file>`: a 0600 file in a fresh 0700 temporary directory naming host,
 * port, user, TCP and the password (empty when none is bound), deleted when `body` settles.
 */
export async function withClientDefaults<T>(
  server: MysqlServer,
  endpoint: MysqlEndpoint,
  body: (defaultsArg: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'dbops-mysql-'));
  try {
    const file = join(dir, 'client.cnf');
    const lines = [
      '[client]',
      `host=${optionValue(endpoint.host)}`,
      `port=${endpoint.port}`,
      'protocol=tcp',
      ...(endpoint.user !== undefined ? [`user=${optionValue(endpoint.user)}`] : []),
      `password=${optionValue(server.password ?? '')}`,
    ];
    await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
    return await body(`--defaults-extra-file=${file}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An option-file value in double quotes with the escapes the client library's option parser undoes. */
function optionValue(value: string): string {
  if (value.includes('\0')) throw new DbopsError(ErrorCode.BadInput, 'a MySQL option value cannot contain a NUL byte');
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t');
  return `"${escaped}"`;
}

/**
 * A DbopsError for a mysql2 error or a client tool's failure (its stderr is in the message): auth, unknown
 * database and connection failures get their codes; any other dump failure is a (retryable) BackupFailed;
 * other restore and SQL failures are returned as they are, for the caller to judge (a failed test restore
 * means a corrupt backup, a failed real restore does not).
 */
export function classifyMysqlFailure(err: unknown, label: string, what: 'connect' | 'dump' | 'restore'): unknown {
  if (err instanceof DbopsError) return err;
  const known = classifyDriverError(err, label);
  if (known) return known;
  if (!(err instanceof Error)) return err;
  const code = String((err as { code?: unknown }).code ?? '');
  const message = redactSecrets(err.message);
  if (
    code === 'ER_DBACCESS_DENIED_ERROR' ||
    code === 'ER_TABLEACCESS_DENIED_ERROR' ||
    /\b(1044|1142)\b/.test(message)
  ) {
    return new DbopsError(
      ErrorCode.AuthFailed,
      `${label}: the user lacks a privilege (${message}); grant it SELECT, SHOW VIEW, TRIGGER, EVENT and LOCK TABLES on the database (and RELOAD for consistent row counts)`,
      { cause: err },
    );
  }
  if (/\b1045\b|Access denied for user/.test(message)) {
    return new DbopsError(
      ErrorCode.AuthFailed,
      `${label}: authentication failed (${message}); check the user and the password in the worker environment`,
      { cause: err },
    );
  }
  if (/\b1049\b|Unknown database/.test(message)) {
    return new DbopsError(
      ErrorCode.DatabaseMissing,
      `${label}: ${message}; create the database or fix the connection URL`,
      {
        cause: err,
      },
    );
  }
  if (/\b(2002|2003|2005|2006|2013)\b|Can't connect|Lost connection|server has gone away/.test(message)) {
    return new DbopsError(
      ErrorCode.Unreachable,
      `${label}: cannot reach the server (${message}); is it running and reachable?`,
      { cause: err },
    );
  }
  if (what === 'dump') {
    return new DbopsError(ErrorCode.BackupFailed, `dump of ${label} failed: ${message}`, { cause: err });
  }
  return err;
}
