/**
 * Restores a gzip-compressed dump made by dump.ts into the database named in a URL, and the small SQL helpers
 * a restore and its verification need: exact row counts, whether a database exists and holds anything, and
 * creating/dropping the scratch databases a test restore uses.
 *
 * The restore streams the file through gunzip into the `mariadb` client (MySQL's `mysql` when mariadb is not
 * installed) with `--binary-mode` (the dump's bytes are sent as they are) and without `--force`, so the
 * client stops at the first failing statement. The password goes through the same 0600 defaults file as the
 * dump, never argv. The SQL helpers open one short-lived mysql2 connection each from `{ url, password }`, which
 * is what callers holding a ResolvedTarget have.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { RowDataPacket } from 'mysql2/promise';
import { DbopsError, ErrorCode } from '../../common/errors';
import { startTool } from '../files/tool-process';
import {
  classifyMysqlFailure,
  clientEnv,
  connectMysql,
  countRows,
  findClientTool,
  listBaseTables,
  type MysqlServer,
  parseMysqlUrl,
  quoteIdentifier,
  withClientDefaults,
} from './dump';

/** Options of {@link restoreMysql}. */
export interface MysqlRestoreOptions {
  signal?: AbortSignal;
}

/** Whether a database exists and how many tables and views it holds. */
export interface MysqlDatabaseState {
  exists: boolean;
  tables: number;
}

/** Loads the gzip dump at `dumpPath` into the database named in `server.url`; stops at the first error. */
export async function restoreMysql(
  server: MysqlServer,
  dumpPath: string,
  options: MysqlRestoreOptions = {},
): Promise<void> {
  const endpoint = parseMysqlUrl(server.url, true);
  const label = endpoint.label;
  try {
    if (!(await stat(dumpPath)).isFile()) throw new Error('not a file');
  } catch {
    throw new DbopsError(
      ErrorCode.BadInput,
      `dump file ${dumpPath} does not exist on the worker's host or is not a file: check the path`,
    );
  }
  const client = await findClientTool(['mariadb', 'mysql']);
  await withClientDefaults(server, endpoint, async (defaultsArg) => {
    let inputError: Error | undefined;
    // pipeline's callback waits for the file to close, possibly after the client's exit: the gunzip stream's own
    // 'error' (a read error is forwarded to it too) is seen at once, before startTool's listener kills the client.
    const input = pipeline(createReadStream(dumpPath), createGunzip(), () => undefined);
    input.once('error', (err) => (inputError ??= err));
    const running = startTool(
      client.command,
      [
        defaultsArg,
        '--binary-mode',
        '--default-character-set=utf8mb4',
        '--max-allowed-packet=1073741824',
        endpoint.database,
      ],
      {
        env: clientEnv(),
        signal: options.signal,
        stdin: input,
        label: `${client.command} restoring ${basename(dumpPath)} into ${label}`,
        installHint: 'the MariaDB client tools (Debian/Ubuntu: mariadb-client) or mysql-client',
      },
    );
    let failure: unknown;
    try {
      await running.done;
    } catch (err) {
      failure = err;
    }
    const corrupt = inputError;
    // A client that stopped early leaves the file half read: close it (its premature-close error is not news).
    input.destroy();
    if (corrupt && !options.signal?.aborted) {
      throw new DbopsError(
        ErrorCode.BackupCorrupt,
        `${dumpPath} is not a readable gzip dump (${corrupt.message}); ${label} may be partly restored: drop it and restore another backup`,
        { cause: corrupt },
      );
    }
    if (failure !== undefined) throw classifyMysqlFailure(failure, label, 'restore');
  });
}

/** Exact `SELECT COUNT(*)` of every base table of `database`, all in one consistent snapshot. */
export async function mysqlRowCounts(server: MysqlServer, database: string): Promise<Record<string, number>> {
  const label = `${parseMysqlUrl(server.url).label} (database ${database})`;
  const conn = await connectMysql(server, database, label);
  try {
    await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
    const counts = await countRows(conn, database, await listBaseTables(conn, database));
    await conn.query('COMMIT');
    return counts;
  } catch (err) {
    throw classifyMysqlFailure(err, label, 'connect');
  } finally {
    await conn.end().catch(() => undefined);
  }
}

/** Whether `database` exists on the server of `server.url` and how many tables and views it has. */
export async function mysqlDatabaseState(server: MysqlServer, database: string): Promise<MysqlDatabaseState> {
  const label = parseMysqlUrl(server.url).label;
  const conn = await connectMysql(server, null, label);
  try {
    const [rows] = await conn.query<RowDataPacket[]>(
      `SELECT (SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?) AS present,
              (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?) AS tables`,
      [database, database],
    );
    return { exists: Number(rows[0]?.present ?? 0) > 0, tables: Number(rows[0]?.tables ?? 0) };
  } catch (err) {
    throw classifyMysqlFailure(err, label, 'connect');
  } finally {
    await conn.end().catch(() => undefined);
  }
}

/** CREATE DATABASE `name` (utf8mb4); ScratchExists when it already exists. */
export async function createMysqlDatabase(server: MysqlServer, name: string): Promise<void> {
  checkDatabaseName(name);
  const label = parseMysqlUrl(server.url).label;
  const conn = await connectMysql(server, null, label);
  try {
    await conn.query(`CREATE DATABASE ${quoteIdentifier(name)} CHARACTER SET utf8mb4`);
  } catch (err) {
    if ((err as { errno?: number }).errno === 1007) {
      throw new DbopsError(
        ErrorCode.ScratchExists,
        `database ${name} already exists on ${label}: drop it if it is a leftover, or choose another name`,
        { cause: err },
      );
    }
    throw classifyMysqlFailure(err, label, 'connect');
  } finally {
    await conn.end().catch(() => undefined);
  }
}

/** DROP DATABASE IF EXISTS `name`. */
export async function dropMysqlDatabase(server: MysqlServer, name: string): Promise<void> {
  checkDatabaseName(name);
  const label = parseMysqlUrl(server.url).label;
  const conn = await connectMysql(server, null, label);
  try {
    await conn.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)}`);
  } catch (err) {
    throw classifyMysqlFailure(err, label, 'connect');
  } finally {
    await conn.end().catch(() => undefined);
  }
}

/** Names dbops creates or drops: letters, digits, `_`, `$`, `-` (not first), at most 64 characters. */
function checkDatabaseName(name: string): void {
  if (!/^[A-Za-z0-9_$][A-Za-z0-9_$-]{0,63}$/.test(name)) {
    throw new DbopsError(
      ErrorCode.BadInput,
      `"${name}" is not a database name dbops creates or drops: use letters, digits, _, $ and - (not first), at most 64 characters`,
    );
  }
}
