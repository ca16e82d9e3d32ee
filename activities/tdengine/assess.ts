/**
 * Health, volume, live queries and supertable shapes of one TDengine cluster, read over taosAdapter's REST API
 * (rest.ts). Used by the assessment job; the supertables' columns and tags feed the proof of concept that recreates
 * the shape in PostgreSQL.
 *
 * A server that does not answer is a result (`up: false` and a critical `td.reachable` finding), never an
 * exception: the estate report must still show it. A check that could not run (no SYSINFO privilege, an older
 * version without the system table) becomes an `unknown` finding with the reason.
 *
 * Also home of the small, pure SQL helpers TDengine statements need wherever they are found (live here, in code for
 * the code scan): literal normalisation, TDengine feature detection and table names.
 */
import type {
  CheckCategory,
  CheckResult,
  QueryPattern,
  Severity,
  TableVolume,
  VolumeReport,
} from '../../common/contracts/assessment';
import { ASSESSMENT_RULES, type AssessmentRules } from '../../common/assessment/rules';
import { DbopsError, ErrorCode } from '../../common/errors';
import { TdengineRest, TdengineServerError, type TdengineEndpoint, type TdengineResult } from './rest';

/** One supertable: its size and its shape (columns first, then tags, in declaration order). */
export interface TdengineSupertable {
  db: string;
  name: string;
  rows: number;
  /** True for `COUNT(*)`; false for the `SHOW TABLE DISTRIBUTED` estimate (or 0 when neither answered). */
  rowsExact: boolean;
  /** Types as TDengine names them, with the length for variable-length types: `TIMESTAMP`, `VARCHAR(24)`. */
  columns: { name: string; type: string }[];
  tags: { name: string; type: string }[];
}

/** What {@link assessTdengine} measured. */
export interface TdengineAssessment {
  up: boolean;
  version?: string;
  findings: CheckResult[];
  volume?: VolumeReport;
  /** Raw numbers behind the findings, e.g. `dnodes`, `cluster_alive`, `db.power.keep`. */
  facts: Record<string, number | string | boolean | null>;
  supertables: TdengineSupertable[];
}

/** Thresholds this module reads from an optional `tdengine` section of the rules, and their defaults. */
const TDENGINE_DEFAULTS = { longQueryWarnSeconds: 60, longQueryCriticalSeconds: 300, maxSupertables: 500 };

/** System databases: no user data, skipped for volume and supertables. */
const SYSTEM_DATABASES = new Set(['information_schema', 'performance_schema']);

/**
 * Assesses one TDengine endpoint: version (`SELECT SERVER_VERSION()`), `SHOW CLUSTER ALIVE`, dnode and vgroup
 * states, databases (tables, vgroups, keep, replica), supertables with exact row counts (falling back to the
 * `SHOW TABLE DISTRIBUTED` estimate), their columns and tags (`DESCRIBE`), disk use and running queries.
 * Throws only for input that is wrong: a bad endpoint URL or one that is not taosAdapter (BadInput), rejected
 * credentials (AuthFailed). A down server is `up: false`.
 */
export async function assessTdengine(
  endpoint: TdengineEndpoint,
  target: string,
  rules: AssessmentRules = ASSESSMENT_RULES,
): Promise<TdengineAssessment> {
  const client = new TdengineRest(endpoint);
  const limits = { ...TDENGINE_DEFAULTS, ...(rules as { tdengine?: Partial<typeof TDENGINE_DEFAULTS> }).tdengine };
  const findings: CheckResult[] = [];
  const facts: TdengineAssessment['facts'] = {};
  const finding = (
    id: string,
    category: CheckCategory,
    severity: Severity,
    title: string,
    value: number | string | null,
    evidence: string,
    extra: Partial<CheckResult> = {},
  ): void => {
    findings.push({ id, engine: 'tdengine', target, category, severity, title, value, evidence, ...extra });
  };

  // 1. Reachability and version: the only step whose failure ends the assessment.
  let version: string | undefined;
  try {
    const res = await client.query('SELECT SERVER_VERSION()');
    version = firstValue(res) === null ? undefined : String(firstValue(res));
  } catch (err) {
    if (!(err instanceof DbopsError)) throw err;
    if (err.code === ErrorCode.Unreachable) {
      facts['reachable'] = false;
      finding('td.reachable', 'availability', 'critical', 'taosAdapter answers REST requests', null, err.message, {
        recommendation: `start taosd and taosAdapter on ${client.host} (or fix the endpoint), then assess again`,
      });
      return { up: false, findings, facts, supertables: [] };
    }
    // Rejected credentials, or an endpoint that is not taosAdapter (HTTP 404, not its JSON): the input is wrong.
    if (err.code === ErrorCode.AuthFailed || !(err instanceof TdengineServerError)) throw err;
    // A statement error from a server that answered: it is up, only the version is unknown.
  }
  facts['reachable'] = true;
  facts['version'] = version ?? null;
  finding(
    'td.reachable',
    'availability',
    'ok',
    'taosAdapter answers REST requests',
    version ?? null,
    `${client.host} answered`,
  );

  const attempt = async (sql: string, db?: string, timeoutMs?: number): Promise<TdengineResult | Error> => {
    try {
      return await client.query(sql, db, timeoutMs === undefined ? {} : { timeoutMs });
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  };

  // 2. Cluster availability: 0 unavailable, 1 fully available, 2 partially available.
  const alive = await attempt('SHOW CLUSTER ALIVE');
  if (alive instanceof Error) {
    finding('td.cluster_alive', 'availability', 'unknown', 'cluster availability', null, alive.message);
  } else {
    const status = Number(firstValue(alive));
    facts['cluster_alive'] = status;
    const [severity, meaning] =
      status === 1
        ? (['ok', 'fully available'] as const)
        : status === 2
          ? (['warning', 'partially available: some nodes are offline'] as const)
          : (['critical', 'unavailable'] as const);
    finding(
      'td.cluster_alive',
      'availability',
      severity,
      'cluster availability',
      status,
      `SHOW CLUSTER ALIVE = ${status} (${meaning})`,
      {
        threshold: '1 ok, 2 warning, 0 critical',
        ...(severity === 'ok'
          ? {}
          : { recommendation: 'bring the offline dnodes back (see td.dnodes) before any migration' }),
      },
    );
  }

  // 3. Dnodes: every one should be `ready`.
  let dnodeCount: number | undefined;
  const dnodes = await attempt('SELECT id, endpoint, status, note FROM information_schema.ins_dnodes');
  if (dnodes instanceof Error) {
    finding(
      'td.dnodes',
      'availability',
      'unknown',
      'dnodes online',
      null,
      `${dnodes.message} (the user may lack SYSINFO)`,
    );
  } else {
    dnodeCount = dnodes.rows.length;
    const offline = dnodes.rows.filter((r) => String(r['status'] ?? '').toLowerCase() !== 'ready');
    facts['dnodes'] = dnodeCount;
    facts['dnodes_offline'] = offline.length;
    const list = offline.map(
      (r) => `${String(r['endpoint'])} ${String(r['status'])}${r['note'] ? ` (${String(r['note'])})` : ''}`,
    );
    finding(
      'td.dnodes',
      'availability',
      offline.length === 0 ? 'ok' : offline.length >= dnodeCount ? 'critical' : 'warning',
      'dnodes online',
      offline.length,
      offline.length === 0
        ? `${dnodeCount} dnode(s), all ready`
        : `${offline.length} of ${dnodeCount} not ready: ${list.join('; ')}`,
      offline.length === 0
        ? { count: 0 }
        : { count: offline.length, recommendation: 'restart or replace the offline dnodes' },
    );
  }

  // 4. Vgroups: each needs a leader; a member that is neither leader, follower nor learner is degraded.
  const vgroups = await attempt('SELECT * FROM information_schema.ins_vgroups');
  if (vgroups instanceof Error) {
    finding(
      'td.vgroups',
      'availability',
      'unknown',
      'vgroups have a leader and healthy members',
      null,
      vgroups.message,
    );
  } else {
    facts['vgroups'] = vgroups.rows.length;
    const leaderless: string[] = [];
    const degraded: string[] = [];
    for (const row of vgroups.rows) {
      const members = Object.keys(row)
        .filter((k) => /^v\d+_status$/.test(k))
        .map((k) =>
          String(row[k] ?? '')
            .trim()
            .toLowerCase(),
        )
        .filter((s) => s !== '' && s !== 'null');
      const label = `${String(row['db_name'])}#${String(row['vgroup_id'])}`;
      if (members.length > 0 && !members.some((s) => s.startsWith('leader')))
        leaderless.push(`${label} (${members.join(', ')})`);
      else if (members.some((s) => !/^(leader|follower|learner)/.test(s)))
        degraded.push(`${label} (${members.join(', ')})`);
    }
    const bad = leaderless.length + degraded.length;
    finding(
      'td.vgroups',
      'availability',
      leaderless.length > 0 ? 'critical' : degraded.length > 0 ? 'warning' : 'ok',
      'vgroups have a leader and healthy members',
      bad,
      bad === 0
        ? `${vgroups.rows.length} vgroup(s), all with a leader and healthy members`
        : [
            leaderless.length ? `no leader: ${leaderless.join('; ')}` : '',
            degraded.length ? `degraded: ${degraded.join('; ')}` : '',
          ]
            .filter(Boolean)
            .join('; '),
      bad === 0
        ? { count: 0 }
        : { count: bad, recommendation: 'check the dnodes hosting these vgroups; writes to a leaderless vgroup fail' },
    );
  }

  // 5. Databases: tables, vgroups, retention (keep) and replicas.
  const databases: string[] = [];
  const dbs = await attempt('SELECT * FROM information_schema.ins_databases');
  if (dbs instanceof Error) {
    finding('td.databases', 'availability', 'unknown', 'databases ready', null, dbs.message);
  } else {
    let tables = 0;
    const notReady: string[] = [];
    const singleCopy: string[] = [];
    for (const row of dbs.rows) {
      const name = String(row['name']);
      if (SYSTEM_DATABASES.has(name)) continue;
      databases.push(name);
      const ntables = Number(row['ntables'] ?? 0);
      tables += Number.isFinite(ntables) ? ntables : 0;
      for (const key of ['ntables', 'vgroups', 'keep', 'replica', 'precision', 'status']) {
        const v = row[key];
        if (v !== undefined)
          facts[`db.${name}.${key}`] =
            typeof v === 'number' || typeof v === 'boolean' ? v : v === null ? null : String(v);
      }
      const status = row['status'];
      if (status !== undefined && status !== null && String(status).toLowerCase() !== 'ready')
        notReady.push(`${name} (${String(status)})`);
      if (Number(row['replica']) === 1) singleCopy.push(name);
    }
    facts['databases'] = databases.length;
    facts['tables'] = tables;
    finding(
      'td.databases',
      'availability',
      notReady.length === 0 ? 'ok' : 'warning',
      'databases ready',
      notReady.length,
      notReady.length === 0 ? `${databases.length} user database(s), all ready` : `not ready: ${notReady.join(', ')}`,
      { count: notReady.length },
    );
    if (databases.length > 0) {
      // One copy is all a single-dnode server can keep; on a cluster it is a choice worth flagging.
      const severity: Severity =
        singleCopy.length === 0 ? 'ok' : dnodeCount !== undefined && dnodeCount > 1 ? 'warning' : 'info';
      finding(
        'td.replica',
        'durability',
        severity,
        'databases keep more than one replica',
        singleCopy.length,
        singleCopy.length === 0
          ? 'every database has replica ≥ 2'
          : `replica 1 (one copy of the data) on ${dnodeCount ?? 'an unknown number of'} dnode(s): ${singleCopy.join(', ')}`,
        singleCopy.length === 0
          ? { count: 0 }
          : {
              count: singleCopy.length,
              threshold: 'warning when replica = 1 on a cluster of several dnodes',
              recommendation: 'keep verified backups; on a cluster, use replica 3',
            },
      );
    }
  }

  // 6. Supertables: list, shape, rows (exact, else estimated) and size.
  const supertables: TdengineSupertable[] = [];
  const volumes: TableVolume[] = [];
  const unmeasured: string[] = [];
  const listed = await listSupertables(attempt, databases);
  if (listed instanceof Error) {
    finding('td.supertables', 'schema', 'unknown', 'supertables listed', null, listed.message);
  } else {
    facts['supertables'] = listed.length;
    if (listed.length > limits.maxSupertables) {
      finding(
        'td.supertables',
        'schema',
        'info',
        'supertables listed',
        listed.length,
        `${listed.length} supertables; the first ${limits.maxSupertables} were measured`,
        {
          count: listed.length - limits.maxSupertables,
        },
      );
    }
    for (const { db, name } of listed.slice(0, limits.maxSupertables)) {
      const qualified = `${quoteName(db)}.${quoteName(name)}`;
      const shape = await attempt(`DESCRIBE ${qualified}`);
      const columns: TdengineSupertable['columns'] = [];
      const tags: TdengineSupertable['tags'] = [];
      if (!(shape instanceof Error)) {
        for (const row of shape.rows) {
          const field = { name: String(row['field']), type: describeType(row['type'], row['length']) };
          if (String(row['note'] ?? '').toUpperCase() === 'TAG') tags.push(field);
          else columns.push(field);
        }
      }
      const dist = await attempt(`SHOW TABLE DISTRIBUTED ${qualified}`);
      const estimate = dist instanceof Error ? undefined : parseDistributed(dist);
      const count = await attempt(`SELECT COUNT(*) FROM ${qualified}`, undefined, rules.statementTimeoutMs);
      let rows = 0;
      let rowsExact = false;
      if (!(count instanceof Error) && firstValue(count) !== null) {
        rows = Number(firstValue(count));
        rowsExact = true;
      } else if (estimate?.rows !== undefined) {
        rows = estimate.rows;
      } else {
        unmeasured.push(`${db}.${name}`);
      }
      supertables.push({ db, name, rows, rowsExact, columns, tags });
      volumes.push({ name: `${db}.${name}`, rows, rowsExact, dataBytes: estimate?.bytes ?? 0, indexBytes: 0 });
    }
    if (unmeasured.length > 0) {
      finding(
        'td.row_counts',
        'capacity',
        'unknown',
        'supertable row counts',
        null,
        `neither COUNT(*) nor SHOW TABLE DISTRIBUTED answered for ${unmeasured.join(', ')}`,
        {
          count: unmeasured.length,
        },
      );
    }
  }

  // 7. Disk use (3.3.x: information_schema.ins_disk_usage, in KB); else the supertables' block sizes.
  let totalBytes = volumes.reduce((sum, t) => sum + t.dataBytes, 0);
  facts['total_bytes_source'] = 'SHOW TABLE DISTRIBUTED';
  const disk = await attempt('SELECT * FROM information_schema.ins_disk_usage');
  if (!(disk instanceof Error) && disk.rows.length > 0) {
    let kb = 0;
    for (const row of disk.rows) {
      for (const key of ['wal_size', 'data1', 'data2', 'data3', 'cache_rdb', 'table_meta', 'ss']) {
        const v = Number(row[key] ?? 0);
        if (Number.isFinite(v)) kb += v;
      }
    }
    totalBytes = kb * 1024;
    facts['total_bytes_source'] = 'information_schema.ins_disk_usage';
  }
  facts['total_bytes'] = totalBytes;

  // 8. Running queries.
  const running = await attempt('SHOW QUERIES');
  if (running instanceof Error) {
    finding('td.long_queries', 'performance', 'unknown', 'no long-running queries', null, running.message);
  } else {
    const secs = running.rows
      .filter((r) => !isOwnShowQueries(r['sql']))
      .map((r) => ({ s: Number(r['exec_usec'] ?? 0) / 1e6, sql: String(r['sql'] ?? '') }));
    facts['queries_running'] = secs.length;
    const warn = secs.filter((q) => q.s >= limits.longQueryWarnSeconds);
    const crit = warn.filter((q) => q.s >= limits.longQueryCriticalSeconds);
    const longest = secs.reduce((m, q) => Math.max(m, q.s), 0);
    finding(
      'td.long_queries',
      'performance',
      crit.length > 0 ? 'critical' : warn.length > 0 ? 'warning' : 'ok',
      'no long-running queries',
      Math.round(longest),
      warn.length === 0
        ? `${secs.length} running, longest ${longest.toFixed(1)} s`
        : `${warn.length} running ≥ ${limits.longQueryWarnSeconds} s, longest ${longest.toFixed(1)} s: ${normaliseSql(warn[0]?.sql ?? '', { doubleQuotedStrings: true }).slice(0, 200)}`,
      {
        threshold: `warn ≥ ${limits.longQueryWarnSeconds} s, critical ≥ ${limits.longQueryCriticalSeconds} s`,
        count: warn.length,
        ...(warn.length > 0
          ? { recommendation: 'find the client (SHOW QUERIES: app, end_point); KILL QUERY <kill_id> if it is stuck' }
          : {}),
      },
    );
  }

  const result: TdengineAssessment = {
    up: true,
    findings,
    facts,
    supertables,
    volume: { target, engine: 'tdengine', totalBytes, tables: volumes },
  };
  if (version !== undefined) result.version = version;
  return result;
}

/**
 * The statements running now (`SHOW QUERIES`), grouped by normalised text: `calls` is how many run at once,
 * `meanMs` their mean elapsed time so far. The `SHOW QUERIES` asking is left out. Throws like TdengineRest.query.
 */
export async function tdengineLivePatterns(endpoint: TdengineEndpoint): Promise<QueryPattern[]> {
  const res = await new TdengineRest(endpoint).query('SHOW QUERIES');
  const groups = new Map<string, QueryPattern & { totalMs: number }>();
  for (const row of res.rows) {
    const sql = String(row['sql'] ?? '');
    if (sql.trim() === '' || isOwnShowQueries(sql)) continue;
    const text = normaliseSql(sql, { doubleQuotedStrings: true });
    const ms = Number(row['exec_usec'] ?? 0) / 1000;
    const group = groups.get(text);
    if (group === undefined) {
      const { reads, writes } = tdengineTables(sql);
      groups.set(text, {
        text,
        kind: classifyTdengineStatement(sql),
        tables: [...new Set([...reads, ...writes])].sort(),
        calls: 1,
        totalMs: Number.isFinite(ms) ? ms : 0,
      });
    } else {
      group.calls = (group.calls ?? 0) + 1;
      group.totalMs += Number.isFinite(ms) ? ms : 0;
    }
  }
  return [...groups.values()]
    .map(({ totalMs, ...p }) => ({ ...p, meanMs: Math.round((totalMs / (p.calls ?? 1)) * 1000) / 1000 }))
    .sort((a, b) => (b.calls ?? 0) - (a.calls ?? 0) || a.text.localeCompare(b.text));
}

/** Supertables of the user databases: `ins_stables` in one query, else `SHOW <db>.STABLES` per database. */
async function listSupertables(
  attempt: (sql: string, db?: string) => Promise<TdengineResult | Error>,
  databases: string[],
): Promise<{ db: string; name: string }[] | Error> {
  const all = await attempt('SELECT db_name, stable_name FROM information_schema.ins_stables');
  if (!(all instanceof Error)) {
    return all.rows
      .map((r) => ({ db: String(r['db_name']), name: String(r['stable_name']) }))
      .filter((s) => !SYSTEM_DATABASES.has(s.db))
      .sort((a, b) => a.db.localeCompare(b.db) || a.name.localeCompare(b.name));
  }
  const out: { db: string; name: string }[] = [];
  for (const db of databases) {
    const res = await attempt(`SHOW ${quoteName(db)}.STABLES`);
    if (res instanceof Error) return res;
    for (const r of res.rows) out.push({ db, name: String(r['stable_name'] ?? Object.values(r)[0]) });
  }
  return out.sort((a, b) => a.db.localeCompare(b.db) || a.name.localeCompare(b.name));
}

function firstValue(res: TdengineResult): unknown {
  const row = res.rows[0];
  const col = res.columns[0];
  return row === undefined || col === undefined ? null : (row[col.name] ?? null);
}

/** A TDengine identifier in backquotes (names come from the server; a backquote cannot occur in one). */
function quoteName(name: string): string {
  return `\`${name.replace(/`/g, '')}\``;
}

function describeType(type: unknown, length: unknown): string {
  const t = String(type ?? '').toUpperCase();
  return /^(VARCHAR|BINARY|NCHAR|VARBINARY|GEOMETRY)$/.test(t) && length !== null && length !== undefined
    ? `${t}(${String(length)})`
    : t;
}

const SIZE_UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** `Total_Rows=[…] Inmem_Rows=[…]` and `Total_Size=[93.65 KB]` from `SHOW TABLE DISTRIBUTED`'s `_block_dist` lines. */
export function parseDistributed(res: TdengineResult): { rows?: number; bytes?: number } {
  const text = res.rows.map((r) => Object.values(r).map(String).join(' ')).join('\n');
  const num = (key: string): number | undefined => {
    const m = new RegExp(`${key}=\\[(\\d+)\\]`).exec(text);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  };
  const totalRows = num('Total_Rows');
  const inmem = num('Inmem_Rows') ?? 0;
  const size = /Total_Size=\[([\d.]+)\s*([KMGT]?B)\]/i.exec(text);
  const out: { rows?: number; bytes?: number } = {};
  if (totalRows !== undefined) out.rows = totalRows + inmem;
  if (size?.[1] !== undefined && size[2] !== undefined) {
    out.bytes = Math.round(Number(size[1]) * (SIZE_UNITS[size[2].toUpperCase()] ?? 1));
  }
  return out;
}

function isOwnShowQueries(sql: unknown): boolean {
  return /^\s*show\s+queries\s*;?\s*$/i.test(String(sql ?? ''));
}

/** Options of {@link normaliseSql}. */
export interface NormaliseOptions {
  /** Treat `"…"` as a string literal (MySQL, TDengine) rather than an identifier (PostgreSQL, standard SQL). */
  doubleQuotedStrings?: boolean;
}

/**
 * A statement's shape without its values: comments dropped, string and numeric literals and placeholders
 * (`$1`, `%s`, `%(name)s`, `:name`, `?`) → `?`, `IN (?, ?, …)` → `IN (?)`, repeated `VALUES` tuples → one,
 * whitespace collapsed, trailing `;` dropped. Durations such as `1m` or `10s` (TDengine) stay: they are structure.
 */
export function normaliseSql(text: string, options: NormaliseOptions = {}): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    const next = text[i + 1];
    if (ch === '-' && next === '-') {
      while (i < text.length && text[i] !== '\n') i++;
      out += ' ';
    } else if (ch === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 2;
      out += ' ';
    } else if (ch === "'" || (ch === '"' && options.doubleQuotedStrings)) {
      i++;
      while (i < text.length) {
        if (text[i] === '\\') i += 2;
        else if (text[i] === ch && text[i + 1] === ch) i += 2;
        else if (text[i] === ch) break;
        else i++;
      }
      i++;
      out += '?';
    } else if (ch === '"' || ch === '`') {
      const end = text.indexOf(ch, i + 1);
      const stop = end === -1 ? text.length : end + 1;
      out += text.slice(i, stop);
      i = stop;
    } else if (ch === '$' && next === '$') {
      // PostgreSQL dollar quoting ($$ … $$): a body, kept as one literal.
      const end = text.indexOf('$$', i + 2);
      i = end === -1 ? text.length : end + 2;
      out += '?';
    } else {
      out += ch;
      i++;
    }
  }
  return out
    .replace(/%\(\w+\)s|%[sdvfq]\b/g, '?')
    .replace(/\$\d+\b/g, '?')
    .replace(/(^|[^:\w]):[A-Za-z_]\w*/g, '$1?')
    .replace(/\b0x[0-9a-f]+\b/gi, '?')
    .replace(/(^|[^\w.$])\d+(?:\.\d+)?(?:e[+-]?\d+)?(?![\w.])/gi, '$1?')
    .replace(/\bIN\s*\(\s*\?(?:\s*,\s*\?)*\s*\)/gi, 'IN (?)')
    .replace(/(\(\s*\?(?:\s*,\s*\?)*\s*\))(?:\s*,\s*\(\s*\?(?:\s*,\s*\?)*\s*\))+/g, '$1')
    .replace(/\s+/g, ' ')
    .replace(/\s*;\s*$/, '')
    .trim();
}

const TDENGINE_FEATURES: [string, RegExp][] = [
  ['CREATE STABLE', /\bCREATE\s+STABLE\b/i],
  ['USING … TAGS', /\bUSING\s+[\w.`]+\s*(?:\([^)]*\)\s*)?TAGS\s*\(/i],
  ['INTERVAL(', /\bINTERVAL\s*\(/i],
  ['SLIDING(', /\bSLIDING\s*\(/i],
  ['FILL(', /\bFILL\s*\(\s*(?:NONE|VALUE|PREV|NULL|LINEAR|NEXT|NULL_F|VALUE_F)\b/i],
  ['PARTITION BY tbname', /\bPARTITION\s+BY\s+tbname\b/i],
  ['LAST_ROW(', /\bLAST_ROW\s*\(/i],
  ['_wstart', /\b_w(?:start|end|duration)\b/i],
  ['STATE_WINDOW(', /\bSTATE_WINDOW\s*\(/i],
  ['SHOW … STABLES', /\bSHOW\s+(?:[\w`]+\.)?STABLES\b/i],
  ['SHOW TABLE DISTRIBUTED', /\bSHOW\s+TABLE\s+DISTRIBUTED\b/i],
];

/** The TDengine-only constructs a statement uses (empty for portable SQL), e.g. `['INTERVAL(', 'PARTITION BY tbname']`. */
export function tdengineFeatures(sql: string): string[] {
  return TDENGINE_FEATURES.filter(([, re]) => re.test(sql)).map(([name]) => name);
}

/** The kind of a TDengine statement: `tdengine` when it uses a TDengine-only construct, else by its first keyword. */
export function classifyTdengineStatement(sql: string): QueryPattern['kind'] {
  if (tdengineFeatures(sql).length > 0) return 'tdengine';
  const word = /^\s*\(?\s*(\w+)/.exec(sql)?.[1]?.toLowerCase();
  if (word === 'select' || word === 'with') return 'select';
  if (word === 'insert') return 'insert';
  if (word === 'update') return 'update';
  if (word === 'delete') return 'delete';
  if (word === 'create' || word === 'alter' || word === 'drop' || word === 'truncate') return 'ddl';
  return 'other';
}

const NAME = '(`[^`]+`|[A-Za-z_][\\w]*)(?:\\s*\\.\\s*(`[^`]+`|[A-Za-z_][\\w]*))?';

/**
 * Tables a TDengine statement reads and writes, by pattern (TDengine SQL is not what general SQL parsers accept):
 * reads from FROM/JOIN; writes to INSERT INTO (each target, and the supertable after USING), DELETE FROM;
 * CREATE/ALTER/DROP [S]TABLE targets count as writes too. Names keep their `db.` prefix, without backquotes.
 */
export function tdengineTables(sql: string): { reads: string[]; writes: string[] } {
  const text = normaliseSql(sql, { doubleQuotedStrings: true });
  const reads = new Set<string>();
  const writes = new Set<string>();
  const name = (m: RegExpExecArray, at: number): string =>
    [m[at], m[at + 1]]
      .filter((p): p is string => p !== undefined)
      .map((p) => p.replace(/`/g, ''))
      .join('.');
  const isDelete = /^\s*DELETE\b/i.test(text);
  for (const m of text.matchAll(new RegExp(`\\b(FROM|JOIN)\\s+${NAME}`, 'gi'))) {
    if (/^(information_schema|performance_schema)\b/i.test(name(m as RegExpExecArray, 2))) continue;
    (isDelete && m[1]?.toUpperCase() === 'FROM' ? writes : reads).add(name(m as RegExpExecArray, 2));
  }
  if (/^\s*INSERT\b/i.test(text)) {
    // INSERT INTO t1 [USING st TAGS (…)] VALUES (…) t2 VALUES (…) …: every name before USING/VALUES/FILE/( is a target.
    for (const m of text.matchAll(
      new RegExp(
        `(?:\\bINTO|\\))\\s+(?!(?:VALUES|USING|TAGS|FILE|SELECT)\\b)${NAME}\\s*(?=USING\\b|VALUES\\b|FILE\\b|\\(|SELECT\\b)`,
        'gi',
      ),
    )) {
      writes.add(name(m as RegExpExecArray, 1));
    }
    for (const m of text.matchAll(new RegExp(`\\bUSING\\s+${NAME}`, 'gi'))) writes.add(name(m as RegExpExecArray, 1));
  }
  for (const m of text.matchAll(
    new RegExp(`\\b(?:CREATE|ALTER|DROP)\\s+(?:STABLE|TABLE)\\s+(?:IF\\s+(?:NOT\\s+)?EXISTS\\s+)?${NAME}`, 'gi'),
  )) {
    writes.add(name(m as RegExpExecArray, 1));
  }
  for (const m of text.matchAll(
    new RegExp(`\\bCREATE\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${NAME}\\s+USING\\s+${NAME}`, 'gi'),
  )) {
    writes.add(name(m as RegExpExecArray, 3));
  }
  for (const w of writes) reads.delete(w);
  return { reads: [...reads].sort(), writes: [...writes].sort() };
}
