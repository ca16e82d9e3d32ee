/**
 * Assessment of one MySQL/MariaDB server and database for `assessEstate`: health findings (`mysql.*`), volume
 * per table, per-table read/write counters, statement digests, probe timings and a content fingerprint.
 *
 * Everything runs in a session of its own that cannot change anything: `SET SESSION TRANSACTION READ ONLY`
 * (every later statement fails if it would write a table) and a statement timeout from the rules
 * (`max_statement_time` in seconds on MariaDB, `max_execution_time` in ms on MySQL). The health checks follow
 * MySQLTuner's ratios on `SHOW GLOBAL STATUS` (counters since the server started) with the thresholds of
 * common/assessment/rules.json. A server that cannot be reached or refuses the login is reported down, never
 * thrown; a check the user lacks the privilege for is `unknown` with the reason, never guessed.
 *
 * Scope: the database the URL names; a URL without one covers every schema except the system ones.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { ASSESSMENT_RULES, type AssessmentRules } from '../../common/assessment/rules';
import type { CheckResult, QueryPattern, TableVolume, VolumeReport } from '../../common/contracts/assessment';
import { DbopsError, ErrorCode } from '../../common/errors';
import { redactSecrets } from '../../common/secret-guard';
import { classifyMysqlFailure, connectMysql, parseMysqlUrl, quoteIdentifier, type MysqlServer } from './dump';
import { finder, type Make, type Verdict } from '../../common/assessment/findings';
import { formatBytes } from '../../common/format';

/** What one engine's health step found about one target (the same shape for every engine). */
export interface EngineAssessment {
  /** False when the server (or file) could not be reached or opened: then `findings` holds only that. */
  up: boolean;
  version?: string;
  findings: CheckResult[];
  volume?: VolumeReport;
  /** Raw numbers behind the findings, for the report's appendix. */
  facts: Record<string, number | string | boolean | null>;
}

/** Options of {@link assessMysql}. */
export interface AssessOptions {
  /** Ends the running statement and rejects with the abort reason. */
  signal?: AbortSignal;
}

/** Schemas of the server itself, never assessed. */
const SYSTEM_SCHEMAS = ['mysql', 'information_schema', 'performance_schema', 'sys'];
/** Replication lag (seconds) past which a replica is a warning. A project choice: rules.json has no number. */
const REPLICA_LAG_WARN_S = 60;
/** Names listed in one finding's evidence; the count says how many there are. */
const LIST_NAMES = 20;
/** Error numbers of a missing privilege: database, table, column, global (SUPER, REPLICA MONITOR…). */
const PRIVILEGE_ERRNOS = new Set([1044, 1142, 1143, 1227]);
/** Statement timeout: MariaDB ER_STATEMENT_TIMEOUT, MySQL ER_QUERY_TIMEOUT. */
const TIMEOUT_ERRNOS = new Set([1969, 3024]);

/** An open read-only session and what it learned on the way in. */
interface Session {
  conn: Connection;
  label: string;
  /** The URL's database ('' = all user schemas). */
  database: string;
  version: string;
  mariadb: boolean;
  /** Set when the user may not use the URL's database: why (schema checks are then unknown). */
  databaseDenied?: string;
}

/**
 * Health findings, volume and facts of the server and database of `server.url`. Never throws for the server's
 * state: down, refused logins and unknown databases come back as `up: false` with a critical `mysql.reachable`.
 * Rejects only when `options.signal` aborts.
 */
export async function assessMysql(
  server: MysqlServer,
  target: string,
  rules: AssessmentRules = ASSESSMENT_RULES,
  options: AssessOptions = {},
): Promise<EngineAssessment> {
  const { signal } = options;
  signal?.throwIfAborted();
  const make = finder('mysql', target);
  const started = performance.now();
  let session: Session;
  try {
    session = await openSession(server, rules.statementTimeoutMs);
  } catch (err) {
    signal?.throwIfAborted();
    const message = problem(classifyMysqlFailure(err, safeLabel(server.url), 'connect'));
    return {
      up: false,
      findings: [
        make('mysql.reachable', 'availability', 'Server reachable and accepting the login', {
          severity: 'critical',
          value: 'down',
          evidence: message,
          recommendation: 'Start the server, or fix the URL, the user or its password on the worker.',
        }),
      ],
      facts: { error: message },
    };
  }
  const { conn } = session;
  const onAbort = (): void => conn.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const findings: CheckResult[] = [
      make('mysql.reachable', 'availability', 'Server reachable and accepting the login', {
        severity: 'ok',
        value: 'up',
        evidence: `connected to ${session.label} in ${Math.round(performance.now() - started)} ms`,
      }),
    ];
    const status = await nameValues(conn, 'SHOW GLOBAL STATUS');
    const variables = await nameValues(conn, 'SHOW GLOBAL VARIABLES');
    const num = (map: Map<string, string>, name: string): number => Number(map.get(name.toLowerCase()) ?? NaN);
    const facts: EngineAssessment['facts'] = {
      version: session.version,
      flavor: session.mariadb ? 'MariaDB' : 'MySQL',
      uptimeSeconds: num(status, 'Uptime'),
      maxConnections: num(variables, 'max_connections'),
      maxUsedConnections: num(status, 'Max_used_connections'),
      innodbBufferPoolBytes: num(variables, 'innodb_buffer_pool_size'),
      performanceSchema: onOff(variables.get('performance_schema')),
      readOnly: onOff(variables.get('read_only')),
      questions: num(status, 'Questions'),
    };

    findings.push(versionFinding(make, session.version, num(status, 'Uptime')));
    findings.push(...statusFindings(make, rules, status, variables));
    signal?.throwIfAborted();

    findings.push(await replicationFinding(make, conn));
    signal?.throwIfAborted();

    let volume: VolumeReport | undefined;
    if (session.databaseDenied !== undefined) {
      const reason = session.databaseDenied;
      findings.push(
        make('mysql.non_innodb_tables', 'schema', 'Tables not stored in InnoDB', unknown(reason)),
        make('mysql.tables_without_pk', 'schema', 'Tables without a primary key', unknown(reason)),
        make('mysql.fragmentation', 'maintenance', 'Free space inside table files', unknown(reason)),
      );
    } else {
      try {
        const tables = await tableStats(conn, session.database);
        findings.push(nonInnodbFinding(make, tables));
        findings.push(await primaryKeyFinding(make, conn, session.database));
        findings.push(fragmentationFinding(make, rules, tables, onOff(variables.get('innodb_file_per_table'))));
        signal?.throwIfAborted();
        volume = await volumeOf(conn, target, tables, rules.exactCountMaxRows, signal);
        facts.tables = tables.length;
      } catch (err) {
        signal?.throwIfAborted();
        const reason = problem(err);
        for (const [id, category, title] of [
          ['mysql.non_innodb_tables', 'schema', 'Tables not stored in InnoDB'],
          ['mysql.tables_without_pk', 'schema', 'Tables without a primary key'],
          ['mysql.fragmentation', 'maintenance', 'Free space inside table files'],
        ] as const) {
          if (!findings.some((f) => f.id === id)) findings.push(make(id, category, title, unknown(reason)));
        }
      }
    }
    return { up: true, version: session.version, findings, ...(volume ? { volume } : {}), facts };
  } catch (err) {
    signal?.throwIfAborted();
    // The connection died between statements (server stopped mid-assessment): down, as far as we can tell.
    const message = problem(err);
    return {
      up: false,
      version: session.version,
      findings: [
        make('mysql.reachable', 'availability', 'Server reachable and accepting the login', {
          severity: 'critical',
          value: 'down',
          evidence: `the assessment's session failed: ${message}`,
          recommendation: 'Check the server log: it stopped answering during the assessment.',
        }),
      ],
      facts: { error: message },
    };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await conn.end().catch(() => conn.destroy());
  }
}

/**
 * Cumulative reads and writes per table (`schema.table`) of the URL's database (all user schemas when it names
 * none), for sampling twice and taking the difference:
 * - `performance_schema.table_io_waits_summary_by_table` (`COUNT_READ`, `COUNT_WRITE`: row operations) when
 *   performance_schema is ON;
 * - else, on MariaDB with `userstat=ON`, `information_schema.TABLE_STATISTICS` (`ROWS_READ`, `ROWS_CHANGED`).
 * With a source, every base table is in the result (zeros when it has not been touched). An EMPTY result means
 * no source is available (both off, or no privilege to read them): the caller reports usage as unknown.
 * Connection failures are thrown (classified).
 */
export async function mysqlUsageCounters(
  server: MysqlServer,
): Promise<Record<string, { reads: number; writes: number }>> {
  const session = await openSession(server, ASSESSMENT_RULES.statementTimeoutMs);
  const { conn, database } = session;
  try {
    if (session.databaseDenied !== undefined) return {};
    let rows: RowDataPacket[] | undefined;
    if ((await variable(conn, 'performance_schema')) === '1') {
      rows = await optionalRows(
        conn,
        `SELECT OBJECT_SCHEMA AS s, OBJECT_NAME AS t, COUNT_READ AS r, COUNT_WRITE AS w
           FROM performance_schema.table_io_waits_summary_by_table WHERE OBJECT_TYPE = 'TABLE'`,
      );
    }
    if (rows === undefined && session.mariadb && (await variable(conn, 'userstat')) === '1') {
      rows = await optionalRows(
        conn,
        `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, ROWS_READ AS r, ROWS_CHANGED AS w
           FROM information_schema.TABLE_STATISTICS`,
      );
    }
    if (rows === undefined) return {};
    const counters: Record<string, { reads: number; writes: number }> = {};
    for (const table of await tableStats(conn, database)) counters[table.name] = { reads: 0, writes: 0 };
    for (const row of rows) {
      const schema = String(row.s);
      if (!inScope(schema, database)) continue;
      const name = `${schema}.${String(row.t)}`;
      if (!(name in counters)) continue; // views, dropped tables, temporary tables
      counters[name] = { reads: Number(row.r ?? 0), writes: Number(row.w ?? 0) };
    }
    return counters;
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

/**
 * The statements that took the most time, from `performance_schema.events_statements_summary_by_digest`
 * (digest text: literals are already `?`), for the URL's database. `unknown` says why there are none when
 * performance_schema is off or not readable.
 */
export async function mysqlLivePatterns(
  server: MysqlServer,
  limit = 20,
): Promise<{ patterns: QueryPattern[]; unknown?: string }> {
  const session = await openSession(server, ASSESSMENT_RULES.statementTimeoutMs);
  const { conn } = session;
  try {
    if ((await variable(conn, 'performance_schema')) !== '1') {
      return {
        patterns: [],
        unknown: `performance_schema is OFF on ${session.label}: set performance_schema=ON in the server's configuration (takes a restart) for statement statistics`,
      };
    }
    const where =
      session.database === '' ? `SCHEMA_NAME NOT IN (${SYSTEM_SCHEMAS.map(() => '?').join(', ')})` : 'SCHEMA_NAME = ?';
    const params = session.database === '' ? SYSTEM_SCHEMAS : [session.database];
    let rows: RowDataPacket[];
    try {
      [rows] = await conn.query<RowDataPacket[]>(
        `SELECT DIGEST_TEXT AS text, COUNT_STAR AS calls, AVG_TIMER_WAIT AS avg_ps
           FROM performance_schema.events_statements_summary_by_digest
          WHERE DIGEST_TEXT IS NOT NULL AND ${where}
          ORDER BY SUM_TIMER_WAIT DESC LIMIT ?`,
        [...params, Math.max(1, Math.floor(limit))],
      );
    } catch (err) {
      if (isPrivilegeError(err)) return { patterns: [], unknown: `${session.label}: ${problem(err)}` };
      throw err;
    }
    return {
      patterns: rows.map((row) => {
        const text = String(row.text);
        return {
          text,
          kind: statementKind(text),
          tables: statementTables(text),
          calls: Number(row.calls),
          // Timer values are picoseconds.
          meanMs: round(Number(row.avg_ps) / 1e9, 3),
        };
      }),
    };
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

/**
 * Runs `sql` `runs` times in a read-only session under the statement timeout and returns each run's wall time
 * and the rows of the last run. Only a single reading statement is accepted (SELECT, WITH, SHOW, EXPLAIN,
 * DESCRIBE, TABLE, VALUES; no locking reads, no INTO OUTFILE): anything else is a BadInput error.
 */
export async function mysqlRunProbe(
  server: MysqlServer,
  sql: string,
  runs: number,
): Promise<{ durationsMs: number[]; rows: number }> {
  assertReadingStatement(sql);
  const session = await openSession(server, ASSESSMENT_RULES.statementTimeoutMs);
  const { conn } = session;
  try {
    const durationsMs: number[] = [];
    let rows = 0;
    for (let i = 0; i < Math.max(1, Math.floor(runs)); i++) {
      const begin = performance.now();
      const [result] = await conn.query(sql);
      durationsMs.push(round(performance.now() - begin, 3));
      rows = Array.isArray(result) ? result.length : 0;
    }
    return { durationsMs, rows };
  } catch (err) {
    if (err instanceof DbopsError) throw err;
    const message = problem(err);
    if (TIMEOUT_ERRNOS.has(errnoOf(err))) {
      throw new DbopsError(
        ErrorCode.BadInput,
        `probe on ${session.label} exceeded the ${ASSESSMENT_RULES.statementTimeoutMs} ms statement timeout: ${sql}`,
        { cause: err },
      );
    }
    const classified = classifyMysqlFailure(err, session.label, 'connect');
    if (classified instanceof DbopsError) throw classified;
    throw new DbopsError(ErrorCode.BadInput, `probe on ${session.label} failed (${message}): ${sql}`, { cause: err });
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

/**
 * A SHA-256 (hex) of the URL's database: every base table's and view's definition (columns, indexes, engine),
 * triggers and routines, and `CHECKSUM TABLE` of every base table. Equal before and after an assessment proves
 * the assessment changed nothing. Reads every row (no statement timeout): meant for that proof, not for a
 * routine step on a large production database.
 */
export async function mysqlFingerprint(server: MysqlServer): Promise<string> {
  const endpoint = parseMysqlUrl(server.url, true);
  const session = await openSession(server, 0);
  const { conn } = session;
  const db = endpoint.database;
  try {
    if (session.databaseDenied !== undefined)
      throw new DbopsError(ErrorCode.AuthFailed, `${session.label}: ${session.databaseDenied}`);
    const hash = createHash('sha256');
    const add = (rows: RowDataPacket[]): void => {
      for (const row of rows) hash.update(`${JSON.stringify(Object.values(row))}\n`);
    };
    const parts = [
      `SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION, CREATE_OPTIONS FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`,
      `SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA,
              COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
      `SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, INDEX_TYPE, SUB_PART
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
      `SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`,
      `SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_TIMING, ACTION_STATEMENT
         FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY TRIGGER_NAME`,
      `SELECT ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION FROM information_schema.ROUTINES
        WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_TYPE, ROUTINE_NAME`,
    ];
    for (const sql of parts) {
      const [rows] = await conn.query<RowDataPacket[]>(sql, [db]);
      add(rows);
    }
    const [tables] = await conn.query<RowDataPacket[]>(
      `SELECT TABLE_NAME AS t FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') ORDER BY TABLE_NAME`,
      [db],
    );
    for (const row of tables) {
      const [sums] = await conn.query<RowDataPacket[]>(
        `CHECKSUM TABLE ${quoteIdentifier(db)}.${quoteIdentifier(String(row.t))}`,
      );
      hash.update(`${String(row.t)}\t${String(sums[0]?.Checksum ?? 'null')}\n`);
    }
    return hash.digest('hex');
  } catch (err) {
    throw classifyMysqlFailure(err, session.label, 'connect');
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

// ---------------------------------------------------------------------------------------------------------
// Session

/**
 * Connects to the URL's database (or to none when the user may not use it: then `databaseDenied` says so),
 * makes the session read-only and sets the statement timeout (`timeoutMs` 0: none).
 */
async function openSession(server: MysqlServer, timeoutMs: number): Promise<Session> {
  const endpoint = parseMysqlUrl(server.url);
  const label = endpoint.label;
  let conn: Connection;
  let databaseDenied: string | undefined;
  try {
    conn = await connectMysql(server, endpoint.database === '' ? null : endpoint.database, label);
  } catch (err) {
    const cause = err instanceof DbopsError ? err.cause : err;
    if (endpoint.database === '' || errnoOf(cause) !== 1044) throw err;
    databaseDenied = `the user may not use database ${endpoint.database} (${problem(cause)}); grant it SELECT on ${endpoint.database}.*`;
    conn = await connectMysql(server, null, label);
  }
  // mysql2 emits 'error' on a connection that dies between queries; the next query reports it.
  conn.on('error', () => undefined);
  try {
    const [rows] = await conn.query<RowDataPacket[]>('SELECT VERSION() AS version');
    const version = String(rows[0]?.version ?? '');
    const mariadb = /mariadb/i.test(version);
    await conn.query('SET SESSION TRANSACTION READ ONLY');
    if (timeoutMs > 0) {
      const set = mariadb
        ? `SET SESSION max_statement_time = ${timeoutMs / 1000}`
        : `SET SESSION max_execution_time = ${Math.round(timeoutMs)}`;
      await conn.query(set).catch(() => undefined); // MySQL before 5.7.8 has neither: no timeout
    }
    // MySQL 8 caches TABLE_ROWS / DATA_LENGTH for a day by default: read them fresh.
    if (!mariadb) await conn.query('SET SESSION information_schema_stats_expiry = 0').catch(() => undefined);
    return {
      conn,
      label,
      database: endpoint.database,
      version,
      mariadb,
      ...(databaseDenied ? { databaseDenied } : {}),
    };
  } catch (err) {
    conn.destroy();
    throw err;
  }
}

/** `mysql://user@host:port/db` of a URL, or a redacted form of a URL that does not parse. */
function safeLabel(url: string): string {
  try {
    return parseMysqlUrl(url).label;
  } catch {
    return redactSecrets(url);
  }
}

/** Variable_name → Value of a SHOW … STATUS / VARIABLES statement, names lower-cased. */
async function nameValues(conn: Connection, sql: string): Promise<Map<string, string>> {
  const [rows] = await conn.query<RowDataPacket[]>(sql);
  return new Map(rows.map((r) => [String(r.Variable_name).toLowerCase(), String(r.Value)]));
}

/** A global variable as text ('1'/'0' for booleans), undefined when the server has none of that name. */
async function variable(conn: Connection, name: string): Promise<string | undefined> {
  try {
    const [rows] = await conn.query<RowDataPacket[]>(`SELECT @@GLOBAL.${name} AS v`);
    const value = rows[0]?.v;
    return value === null || value === undefined ? undefined : String(value);
  } catch {
    return undefined;
  }
}

/** The rows of `sql`, or undefined when a privilege is missing or the table does not exist. */
async function optionalRows(conn: Connection, sql: string): Promise<RowDataPacket[] | undefined> {
  try {
    const [rows] = await conn.query<RowDataPacket[]>(sql);
    return rows;
  } catch (err) {
    if (isPrivilegeError(err) || errnoOf(err) === 1109 || errnoOf(err) === 1146) return undefined;
    throw err;
  }
}

/** Whether `schema` is in scope: the URL's database, or any but the system schemas when it names none. */
function inScope(schema: string, database: string): boolean {
  return database === '' ? !SYSTEM_SCHEMAS.includes(schema.toLowerCase()) : schema === database;
}

// ---------------------------------------------------------------------------------------------------------
// Findings

/** An `unknown` verdict with its reason. */
function unknown(reason: string): Verdict {
  return { severity: 'unknown', value: null, evidence: reason };
}

function versionFinding(make: Make, version: string, uptime: number): CheckResult {
  const young = uptime < 86_400;
  return make('mysql.version', 'availability', 'Server version and uptime', {
    severity: 'ok',
    value: version,
    evidence: `${version}, up ${formatDuration(uptime)}${young ? ' (counters cover less than a day: the ratios below may not be representative)' : ''}`,
  });
}

/** The findings computed from SHOW GLOBAL STATUS / VARIABLES alone. */
function statusFindings(
  make: Make,
  rules: AssessmentRules,
  status: Map<string, string>,
  variables: Map<string, string>,
): CheckResult[] {
  const r = rules.mysql;
  const s = (name: string): number => Number(status.get(name.toLowerCase()) ?? NaN);
  const v = (name: string): number => Number(variables.get(name.toLowerCase()) ?? NaN);
  const out: CheckResult[] = [];

  // Connections used: the high-water mark against the limit.
  const maxUsed = s('Max_used_connections');
  const maxConn = v('max_connections');
  if (Number.isFinite(maxUsed) && maxConn > 0) {
    const pct = round((maxUsed / maxConn) * 100);
    out.push(
      make('mysql.connections', 'capacity', 'Peak connections against max_connections', {
        severity: pct >= r.connectionsCriticalPct ? 'critical' : pct > r.connectionsWarnPct ? 'warning' : 'ok',
        value: pct,
        threshold: `warn > ${r.connectionsWarnPct} %, critical ≥ ${r.connectionsCriticalPct} %`,
        evidence: `Max_used_connections ${maxUsed} of max_connections ${maxConn}`,
        recommendation: 'Raise max_connections (mind per-connection memory) or pool connections in the applications.',
      }),
    );
  } else
    out.push(
      make(
        'mysql.connections',
        'capacity',
        'Peak connections against max_connections',
        unknown('Max_used_connections or max_connections not reported'),
      ),
    );

  // Buffer pool read efficiency: logical reads served from memory.
  const requests = s('Innodb_buffer_pool_read_requests');
  const diskReads = s('Innodb_buffer_pool_reads');
  if (Number.isFinite(requests) && Number.isFinite(diskReads) && requests + diskReads > 0) {
    const pct = round((requests / (requests + diskReads)) * 100, 3);
    out.push(
      make('mysql.buffer_pool_hit', 'performance', 'InnoDB buffer pool read efficiency', {
        severity: pct < r.bufferPoolReadCriticalPct ? 'critical' : pct < r.bufferPoolReadWarnPct ? 'warning' : 'ok',
        value: pct,
        threshold: `warn < ${r.bufferPoolReadWarnPct} %, critical < ${r.bufferPoolReadCriticalPct} %`,
        evidence: `${requests} read requests, ${diskReads} of them from disk; innodb_buffer_pool_size ${formatBytes(v('innodb_buffer_pool_size'))}`,
        recommendation:
          'Raise innodb_buffer_pool_size towards the data + index size (≈ 75 % of RAM on a dedicated host).',
      }),
    );
  } else {
    out.push(
      make(
        'mysql.buffer_pool_hit',
        'performance',
        'InnoDB buffer pool read efficiency',
        unknown('no InnoDB buffer pool reads since the server started'),
      ),
    );
  }

  // Temporary tables that had to go to disk.
  const tmp = s('Created_tmp_tables');
  const tmpDisk = s('Created_tmp_disk_tables');
  if (Number.isFinite(tmp) && Number.isFinite(tmpDisk)) {
    const pct = tmp > 0 ? round((tmpDisk / tmp) * 100) : 0;
    out.push(
      make('mysql.tmp_disk_tables', 'performance', 'Temporary tables created on disk', {
        severity: pct > r.diskTempTablesCriticalPct ? 'critical' : pct > r.diskTempTablesWarnPct ? 'warning' : 'ok',
        value: pct,
        threshold: `warn > ${r.diskTempTablesWarnPct} %, critical > ${r.diskTempTablesCriticalPct} %`,
        evidence: `${tmpDisk} of ${tmp} temporary tables on disk; tmp_table_size ${formatBytes(v('tmp_table_size'))}, max_heap_table_size ${formatBytes(v('max_heap_table_size'))}`,
        recommendation:
          'Raise tmp_table_size and max_heap_table_size together, and avoid TEXT/BLOB columns in sorted or grouped results.',
      }),
    );
  } else
    out.push(
      make(
        'mysql.tmp_disk_tables',
        'performance',
        'Temporary tables created on disk',
        unknown('Created_tmp_tables not reported'),
      ),
    );

  // Thread cache: threads created versus connections served.
  const created = s('Threads_created');
  const connections = s('Connections');
  if (Number.isFinite(created) && connections > 0) {
    const pct = round(100 - (created / connections) * 100);
    out.push(
      make('mysql.thread_cache', 'performance', 'Thread cache hit rate', {
        severity: pct < r.threadCacheWarnPct ? 'warning' : 'ok',
        value: pct,
        threshold: `warn < ${r.threadCacheWarnPct} %`,
        evidence: `${created} threads created for ${connections} connections; thread_cache_size ${v('thread_cache_size')}`,
        recommendation: 'Raise thread_cache_size so connections reuse threads.',
      }),
    );
  } else
    out.push(make('mysql.thread_cache', 'performance', 'Thread cache hit rate', unknown('no connections counted')));

  // Connection attempts that failed (bad password, no privilege, timeouts, wrong packets).
  const aborted = s('Aborted_connects');
  if (Number.isFinite(aborted) && connections > 0) {
    const pct = round((aborted / connections) * 100);
    out.push(
      make('mysql.aborted_connects', 'capacity', 'Failed connection attempts', {
        severity: pct > r.abortedConnectsWarnPct ? 'warning' : 'ok',
        value: pct,
        threshold: `warn > ${r.abortedConnectsWarnPct} %`,
        evidence: `${aborted} of ${connections} connection attempts failed`,
        recommendation:
          'Find the clients with wrong credentials or network trouble (error log, host_cache) and fix them.',
      }),
    );
  } else
    out.push(
      make('mysql.aborted_connects', 'capacity', 'Failed connection attempts', unknown('no connections counted')),
    );

  // Slow queries: counted against long_query_time whether or not the slow log is on.
  const slow = s('Slow_queries');
  const questions = s('Questions');
  if (Number.isFinite(slow) && questions > 0) {
    const pct = round((slow / questions) * 100, 3);
    out.push(
      make('mysql.slow_queries', 'performance', 'Slow queries', {
        severity: pct > r.slowQueriesWarnPct ? 'warning' : 'ok',
        value: pct,
        threshold: `warn > ${r.slowQueriesWarnPct} %`,
        evidence: `${slow} of ${questions} statements took longer than long_query_time ${v('long_query_time')} s (slow_query_log ${variables.get('slow_query_log') ?? '?'})`,
        recommendation: 'Turn on the slow query log and index or rewrite the statements it lists.',
      }),
    );
  } else out.push(make('mysql.slow_queries', 'performance', 'Slow queries', unknown('no statements counted')));
  return out;
}

/** SHOW REPLICA STATUS (SHOW SLAVE STATUS on older servers): not a replica, running, lagging or broken. */
async function replicationFinding(make: Make, conn: Connection): Promise<CheckResult> {
  const title = 'Replication';
  let rows: RowDataPacket[];
  try {
    try {
      [rows] = await conn.query<RowDataPacket[]>('SHOW REPLICA STATUS');
    } catch (err) {
      if (errnoOf(err) !== 1064) throw err; // before MySQL 8.0.22 / MariaDB 10.5.1
      [rows] = await conn.query<RowDataPacket[]>('SHOW SLAVE STATUS');
    }
  } catch (err) {
    const hint = isPrivilegeError(err) ? ' (grant REPLICATION CLIENT, or REPLICA MONITOR on MariaDB 10.5+)' : '';
    return make(
      'mysql.replication',
      'availability',
      title,
      unknown(`cannot read the replication status: ${problem(err)}${hint}`),
    );
  }
  const row = rows[0];
  if (!row) {
    return make('mysql.replication', 'availability', title, {
      severity: 'ok',
      value: 'not a replica',
      evidence: 'SHOW REPLICA STATUS is empty: this server does not replicate from another',
    });
  }
  const pick = (...names: string[]): string | null => {
    for (const name of names) if (row[name] !== undefined) return row[name] === null ? null : String(row[name]);
    return null;
  };
  const io = pick('Replica_IO_Running', 'Slave_IO_Running');
  const sql = pick('Replica_SQL_Running', 'Slave_SQL_Running');
  const lagText = pick('Seconds_Behind_Source', 'Seconds_Behind_Master');
  const lag = lagText === null ? null : Number(lagText);
  const errors = [pick('Last_IO_Error'), pick('Last_SQL_Error')].filter((e): e is string => !!e).join('; ');
  const evidence = `IO thread ${io ?? '?'}, SQL thread ${sql ?? '?'}, ${lag === null ? 'lag unknown' : `${lag} s behind`}${errors ? `; ${errors}` : ''}`;
  if (io !== 'Yes' || sql !== 'Yes') {
    return make('mysql.replication', 'availability', title, {
      severity: 'critical',
      value: lag,
      evidence,
      recommendation:
        'Fix the error shown and restart replication (START REPLICA); check the replica against the source.',
    });
  }
  return make('mysql.replication', 'availability', title, {
    severity: lag !== null && lag > REPLICA_LAG_WARN_S ? 'warning' : 'ok',
    value: lag,
    threshold: `warn > ${REPLICA_LAG_WARN_S} s behind, critical when a replication thread stopped`,
    evidence,
    recommendation: 'Find what slows the replica (long transactions on the source, single-threaded apply, I/O).',
  });
}

/** One base table from information_schema.TABLES. */
interface TableStat {
  /** `schema.table`. */
  name: string;
  schema: string;
  table: string;
  engine: string;
  /** TABLE_ROWS: an estimate for InnoDB; null when the engine reports none. */
  estimatedRows: number | null;
  dataBytes: number;
  indexBytes: number;
  freeBytes: number;
}

/** The base tables in scope with their statistics, by name. */
async function tableStats(conn: Connection, database: string): Promise<TableStat[]> {
  const scope =
    database === '' ? `TABLE_SCHEMA NOT IN (${SYSTEM_SCHEMAS.map(() => '?').join(', ')})` : 'TABLE_SCHEMA = ?';
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, COALESCE(ENGINE, '') AS e, TABLE_ROWS AS r,
            COALESCE(DATA_LENGTH, 0) AS d, COALESCE(INDEX_LENGTH, 0) AS i, COALESCE(DATA_FREE, 0) AS f
       FROM information_schema.TABLES
      WHERE TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') AND ${scope}
      ORDER BY TABLE_SCHEMA, TABLE_NAME`,
    database === '' ? SYSTEM_SCHEMAS : [database],
  );
  return rows.map((r) => ({
    name: `${String(r.s)}.${String(r.t)}`,
    schema: String(r.s),
    table: String(r.t),
    engine: String(r.e),
    estimatedRows: r.r === null || r.r === undefined ? null : Number(r.r),
    dataBytes: Number(r.d),
    indexBytes: Number(r.i),
    freeBytes: Number(r.f),
  }));
}

function nonInnodbFinding(make: Make, tables: TableStat[]): CheckResult {
  const others = tables.filter((t) => t.engine.toLowerCase() !== 'innodb');
  return make('mysql.non_innodb_tables', 'schema', 'Tables not stored in InnoDB', {
    severity: others.length > 0 ? 'warning' : 'ok',
    value: others.length,
    count: others.length,
    threshold: 'warn ≥ 1',
    evidence:
      others.length > 0
        ? `not InnoDB: ${listNames(others.map((t) => `${t.name} (${t.engine || 'no engine'})`))}`
        : `all ${tables.length} base tables are InnoDB`,
    recommendation:
      'Convert with ALTER TABLE … ENGINE=InnoDB (check FULLTEXT/SPATIAL use first): other engines have no transactions, no crash recovery and no consistent backup.',
  });
}

async function primaryKeyFinding(make: Make, conn: Connection, database: string): Promise<CheckResult> {
  const scope =
    database === '' ? `t.TABLE_SCHEMA NOT IN (${SYSTEM_SCHEMAS.map(() => '?').join(', ')})` : 't.TABLE_SCHEMA = ?';
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT t.TABLE_SCHEMA AS s, t.TABLE_NAME AS n FROM information_schema.TABLES t
       LEFT JOIN information_schema.TABLE_CONSTRAINTS c
         ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.CONSTRAINT_TYPE = 'PRIMARY KEY'
      WHERE t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') AND ${scope} AND c.CONSTRAINT_NAME IS NULL
      ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME`,
    database === '' ? SYSTEM_SCHEMAS : [database],
  );
  const names = rows.map((r) => `${String(r.s)}.${String(r.n)}`);
  return make('mysql.tables_without_pk', 'schema', 'Tables without a primary key', {
    severity: names.length > 0 ? 'warning' : 'ok',
    value: names.length,
    count: names.length,
    threshold: 'warn ≥ 1',
    evidence: names.length > 0 ? `no primary key: ${listNames(names)}` : 'every base table has a primary key',
    recommendation:
      'Add a primary key: InnoDB otherwise clusters on a hidden row id, row-based replication scans the table per change, and migrations cannot verify rows.',
  });
}

function fragmentationFinding(
  make: Make,
  rules: AssessmentRules,
  tables: TableStat[],
  filePerTable: boolean | null,
): CheckResult {
  const r = rules.mysql;
  // Without innodb_file_per_table every InnoDB table reports the shared tablespace's free space.
  const judged = tables.filter((t) => filePerTable !== false || t.engine.toLowerCase() !== 'innodb');
  const fragmented = judged.filter((t) => {
    const total = t.dataBytes + t.indexBytes + t.freeBytes;
    return t.dataBytes > r.fragmentationMinBytes && total > 0 && (t.freeBytes / total) * 100 > r.fragmentationWarnPct;
  });
  const freeBytes = fragmented.reduce((sum, t) => sum + t.freeBytes, 0);
  return make('mysql.fragmentation', 'maintenance', 'Free space inside table files', {
    severity: fragmented.length > 0 ? 'warning' : 'ok',
    value: fragmented.length,
    count: fragmented.length,
    threshold: `warn: DATA_LENGTH > ${formatBytes(r.fragmentationMinBytes)} and DATA_FREE > ${r.fragmentationWarnPct} % of data + index + free`,
    evidence:
      fragmented.length > 0
        ? `${formatBytes(freeBytes)} reclaimable in ${listNames(fragmented.map((t) => `${t.name} (${formatBytes(t.freeBytes)} free)`))}`
        : `no table over ${formatBytes(r.fragmentationMinBytes)} with more than ${r.fragmentationWarnPct} % free space${filePerTable === false ? ' (innodb_file_per_table is OFF: InnoDB tables not judged)' : ''}`,
    recommendation:
      'Rebuild the tables in a quiet hour (OPTIMIZE TABLE, or ALTER TABLE … FORCE / pt-online-schema-change).',
  });
}

/** Volume per table: TABLE_ROWS estimates, exact COUNT(*) where the estimate is small enough, sizes. */
async function volumeOf(
  conn: Connection,
  target: string,
  tables: TableStat[],
  exactCountMaxRows: number,
  signal: AbortSignal | undefined,
): Promise<VolumeReport> {
  const out: TableVolume[] = [];
  for (const t of tables) {
    signal?.throwIfAborted();
    let rows = t.estimatedRows ?? 0;
    let exact = false;
    if (t.estimatedRows === null || t.estimatedRows <= exactCountMaxRows) {
      try {
        const [counted] = await conn.query<RowDataPacket[]>(
          `SELECT COUNT(*) AS n FROM ${quoteIdentifier(t.schema)}.${quoteIdentifier(t.table)}`,
        );
        rows = Number(counted[0]?.n ?? 0);
        exact = true;
      } catch (err) {
        // Over the statement timeout, or no SELECT on that table: keep the estimate.
        if (!TIMEOUT_ERRNOS.has(errnoOf(err)) && !isPrivilegeError(err)) throw err;
      }
    }
    out.push({ name: t.name, rows, rowsExact: exact, dataBytes: t.dataBytes, indexBytes: t.indexBytes });
  }
  return {
    target,
    engine: 'mysql',
    totalBytes: out.reduce((sum, t) => sum + t.dataBytes + t.indexBytes, 0),
    tables: out,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Statements

/** Leading keywords of a statement that only reads. */
const READING = /^(SELECT|WITH|SHOW|EXPLAIN|DESCRIBE|DESC|TABLE|VALUES)\b/i;
/** Reading statements that still lock rows or write files. */
const NOT_PLAIN_READ = /\bINTO\s+(OUTFILE|DUMPFILE)\b|\bFOR\s+(UPDATE|SHARE)\b|\bLOCK\s+IN\s+SHARE\s+MODE\b/i;

/** Refuses anything but one plain reading statement (BadInput). */
function assertReadingStatement(sql: string): void {
  const body = stripLeadingComments(sql).replace(/;\s*$/, '');
  if (!READING.test(body) || NOT_PLAIN_READ.test(body) || body.includes(';')) {
    throw new DbopsError(
      ErrorCode.BadInput,
      `a MySQL probe must be one reading statement (SELECT, WITH, SHOW, EXPLAIN…) without locking clauses: ${sql.slice(0, 200)}`,
    );
  }
}

/** The statement without leading whitespace, comments and opening parentheses. */
function stripLeadingComments(sql: string): string {
  let s = sql;
  for (;;) {
    const next = s
      .replace(/^\s+/, '')
      .replace(/^\(+/, '')
      .replace(/^--[^\n]*(\n|$)/, '')
      .replace(/^#[^\n]*(\n|$)/, '')
      .replace(/^\/\*[\s\S]*?\*\//, '');
    if (next === s) return s;
    s = next;
  }
}

/** The kind of a (digest) statement from its first keyword. */
function statementKind(text: string): QueryPattern['kind'] {
  const word = (/^[A-Za-z]+/.exec(stripLeadingComments(text))?.[0] ?? '').toUpperCase();
  if (word === 'SELECT' || word === 'WITH') return 'select';
  if (word === 'INSERT' || word === 'REPLACE') return 'insert';
  if (word === 'UPDATE') return 'update';
  if (word === 'DELETE') return 'delete';
  if (['CREATE', 'ALTER', 'DROP', 'TRUNCATE', 'RENAME'].includes(word)) return 'ddl';
  return 'other';
}

/** Table names after FROM / JOIN / INTO / UPDATE / TABLE in a (digest) statement, backticks removed. */
function statementTables(text: string): string[] {
  const names = new Set<string>();
  const ident = '(?:`(?:[^`]|``)+`|[A-Za-z0-9_$]+)';
  const re = new RegExp(`\\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\\s+(${ident}(?:\\s*\\.\\s*${ident})?)`, 'gi');
  for (const match of text.matchAll(re)) {
    const name = match[1]!
      .split(/\s*\.\s*/)
      .map((part) => part.replace(/^`|`$/g, '').replace(/``/g, '`'))
      .join('.');
    if (!/^(SELECT|WITH|LATERAL|DUAL)$/i.test(name)) names.add(name);
  }
  return [...names];
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers

function errnoOf(err: unknown): number {
  return Number((err as { errno?: unknown } | null)?.errno ?? NaN);
}

function isPrivilegeError(err: unknown): boolean {
  return PRIVILEGE_ERRNOS.has(errnoOf(err));
}

/** A one-line, secret-free reason of an error. */
function problem(err: unknown): string {
  if (TIMEOUT_ERRNOS.has(errnoOf(err))) return `exceeded the statement timeout (${(err as Error).message})`;
  return redactSecrets(err instanceof Error ? err.message : String(err));
}

function onOff(value: string | undefined): boolean | null {
  if (value === undefined) return null;
  return /^(ON|1|YES|TRUE)$/i.test(value);
}

function listNames(names: string[]): string {
  const shown = names.slice(0, LIST_NAMES).join(', ');
  return names.length > LIST_NAMES ? `${shown} … and ${names.length - LIST_NAMES} more` : shown;
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'for an unknown time';
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min ${Math.floor(seconds % 60)} s`;
}
