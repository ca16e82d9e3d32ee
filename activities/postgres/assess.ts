/**
 * Read-only assessment of one PostgreSQL database: health findings (availability, replication, connections,
 * cache, long and idle-in-transaction sessions, XID wraparound, sequence headroom, index and vacuum hygiene,
 * primary keys, planner statistics, settings), volume per table, usage counters, live query patterns from
 * pg_stat_statements, latency probes and a fingerprint that lets tests prove nothing was changed.
 *
 * Every query runs on a dedicated session made read-only before the first statement (default transaction
 * read only, statement and lock timeouts from the rules): an assessment can be pointed at production. Reads
 * still have physical side effects PostgreSQL makes on its own (hint bits, page pruning of dead tuples);
 * nothing logical — rows, schema, sequences, the n_tup_* counters — changes.
 *
 * A down server is a finding, not an exception; a check whose view needs a privilege the user lacks, or an
 * extension that is not there, is `unknown` with the reason — never `ok`, never an error.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { ASSESSMENT_RULES, type AssessmentRules } from '../../common/assessment/rules';
import type {
  CheckCategory,
  CheckResult,
  QueryPattern,
  Severity,
  TableVolume,
  VolumeReport,
} from '../../common/contracts/assessment';
import { qi, qualified, ql } from './identifiers';
import { databaseOf, type PgEndpoint, withDatabase } from './restore';
import { formatBytes as bytes } from '../../common/format';

/** What `assessPostgres` found on one database. */
export interface PgAssessment {
  up: boolean;
  version?: string;
  findings: CheckResult[];
  volume?: VolumeReport;
  /** Raw measurements behind the findings, for the report and for plan decisions. */
  facts: Record<string, number | string | boolean | null>;
}

/** A server as the assessment reaches it: URL without password, the password apart, a label for messages. */
export type AssessEndpoint = PgEndpoint;

/** Lock waits beyond this fail the statement (catalog reads must never queue behind DDL for long). */
const LOCK_TIMEOUT_MS = 1_000;
const CONNECT_TIMEOUT_MS = 10_000;
/** SQLSTATEs: insufficient_privilege, query_canceled (statement timeout), lock_not_available. */
const PERMISSION_DENIED = '42501';
const STATEMENT_TIMEOUT = '57014';
const LOCK_NOT_AVAILABLE = '55P03';
/** Schemas that are PostgreSQL's own: pg_catalog, pg_toast*, pg_temp*, information_schema. */
const USER_SCHEMA = (alias: string): string => `${alias} <> 'information_schema' AND ${alias} !~ '^pg_'`;
/** Hidden rows of pg_stat_activity (another user's session, seen without pg_read_all_stats). */
const HIDDEN = '<insufficient privilege>';
/** How many objects an evidence line names before "… and N more". */
const EVIDENCE_ITEMS = 10;
/** pghero's wraparound horizon: 2^31 − 1,000,000 transactions. */
const XID_HORIZON = 2_146_483_648;
/** Below this many block accesses since the statistics reset, a cache hit ratio says nothing. */
const CACHE_MIN_BLOCKS = 1_000;
/** Community end-of-life dates per major (postgresql.org versioning policy: five years after release). */
const EOL: Readonly<Record<number, string>> = {
  10: '2022-11-10',
  11: '2023-11-09',
  12: '2024-11-21',
  13: '2025-11-13',
  14: '2026-11-12',
  15: '2027-11-11',
  16: '2028-11-09',
  17: '2029-11-08',
  18: '2030-11-14',
};

/**
 * Optional PostgreSQL thresholds the shipped rules may add later; read with a default so a rules file
 * without them still works (replication lag: pghero warns at 5 s; 60 s critical is dbops' choice).
 */
function extra(rules: AssessmentRules, key: string, fallback: number): number {
  const value = (rules.postgres as unknown as Partial<Record<string, unknown>>)[key];
  return typeof value === 'number' ? value : fallback;
}

// ---------------------------------------------------------------------------------------------------------
// The read-only session
// ---------------------------------------------------------------------------------------------------------

/**
 * Connects a dedicated client to `endpoint` and makes its session read-only before anything else runs:
 * `SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`, `statement_timeout` = the rules' statement
 * timeout, a short `lock_timeout`, and an idle-in-transaction timeout. The settings are sent as SET
 * statements (not startup options, which poolers such as PgBouncer refuse). Throws when it cannot connect.
 */
export async function openAssessSession(
  endpoint: AssessEndpoint,
  rules: AssessmentRules = ASSESSMENT_RULES,
): Promise<pg.Client> {
  const client = await connect(endpoint);
  await makeReadOnly(client, rules);
  return client;
}

/** A connected client with the assessment's application name; throws (and cleans up) when it cannot connect. */
async function connect(endpoint: AssessEndpoint): Promise<pg.Client> {
  const client = new pg.Client({ ...clientParams(endpoint), connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on('error', () => undefined); // a dropped connection fails the running query, which reports it
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}

/** Makes the session read-only with the timeouts; ends the client and throws when the server refuses. */
async function makeReadOnly(client: pg.Client, rules: AssessmentRules): Promise<void> {
  const timeout = Math.max(1, Math.round(rules.statementTimeoutMs));
  try {
    await client.query(
      `SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;
       SET default_transaction_read_only = on;
       SET statement_timeout = ${timeout};
       SET lock_timeout = ${Math.min(LOCK_TIMEOUT_MS, timeout)};
       SET idle_in_transaction_session_timeout = ${Math.max(timeout * 2, 10_000)}`,
    );
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}

/**
 * Runs `body` on a fresh read-only assessment session (see `openAssessSession`) and closes it. An abort of
 * `signal` ends the session, failing the running statement, and rejects with the abort reason.
 */
export async function withAssessSession<T>(
  endpoint: AssessEndpoint,
  body: (client: pg.Client) => Promise<T>,
  options: { rules?: AssessmentRules; signal?: AbortSignal } = {},
): Promise<T> {
  options.signal?.throwIfAborted();
  const client = await openAssessSession(endpoint, options.rules);
  return runOn(client, body, options.signal);
}

async function runOn<T>(client: pg.Client, body: (client: pg.Client) => Promise<T>, signal?: AbortSignal): Promise<T> {
  const onAbort = (): void => void client.end().catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    signal?.throwIfAborted(); // a listener added to an already aborted signal never fires
    const result = await body(client);
    signal?.throwIfAborted();
    return result;
  } catch (err) {
    signal?.throwIfAborted();
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await client.end().catch(() => undefined);
  }
}

/** Connection parameters from the URL, the password given apart (never PGPASSWORD or ~/.pgpass). */
function clientParams(endpoint: AssessEndpoint): pg.ClientConfig {
  const { password: _ignored, ...params } = parseIntoClientConfig(withDatabase(endpoint.url, databaseOf(endpoint.url)));
  return { ...(params as pg.ClientConfig), password: endpoint.password ?? '', application_name: 'dbops-assess' };
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------------

type Row = Record<string, unknown>;

async function rows<T extends Row>(client: pg.Client, sql: string, values: unknown[] = []): Promise<T[]> {
  return (await client.query<T>(sql, values)).rows;
}

function num(value: unknown): number {
  if (value === null || value === undefined) return 0;
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function duration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${round(seconds / 3_600, 1)} h`;
  return `${round(seconds / 86_400, 1)} d`;
}

/** `a, b, c … and N more`. */
function list(items: string[]): string {
  const shown = items.slice(0, EVIDENCE_ITEMS).join('; ');
  return items.length > EVIDENCE_ITEMS ? `${shown}; … and ${items.length - EVIDENCE_ITEMS} more` : shown;
}

/** The worse of two severities (unknown counts as better than any real problem). */
function worse(a: Severity, b: Severity): Severity {
  const rank: Record<Severity, number> = { ok: 0, unknown: 1, info: 2, warning: 3, critical: 4 };
  return rank[a] >= rank[b] ? a : b;
}

/**
 * Normalises SQL text for reports: string, numeric and dollar-quoted literals become `?`, whitespace folds.
 * pg_stat_statements already does this for most statements; utility statements are kept verbatim by it.
 */
export function scrubSql(sql: string, max = 2_000): string {
  const text = sql
    .replace(/\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$/g, '?')
    .replace(/[EeBbXxUu]?&?'(?:[^']|'')*'/g, '?')
    .replace(/(?<![\w$."])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b/g, '?')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** What a statement does, from its first keyword. */
export function sqlKind(sql: string): QueryPattern['kind'] {
  const text = sql.replace(/^\s*(?:--[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*/, '').toLowerCase();
  const first = /^[a-z]+/.exec(text)?.[0] ?? '';
  if (first === 'with') {
    // A CTE ends in its main statement: the last statement keyword after a closing parenthesis.
    const main = /\)\s*(select|insert|update|delete|merge)\b/g;
    let last: string | undefined;
    for (const m of text.matchAll(main)) last = m[1];
    return last === 'insert' || last === 'update' || last === 'delete' ? last : 'select';
  }
  if (first === 'select' || first === 'table' || first === 'values') return 'select';
  if (first === 'insert' || first === 'update' || first === 'delete') return first;
  if (['create', 'alter', 'drop', 'truncate', 'comment', 'grant', 'revoke'].includes(first)) return 'ddl';
  return 'other';
}

/** Tables a statement names after FROM / JOIN / INTO / UPDATE / TABLE (a heuristic, not a parser). */
export function sqlTables(sql: string): string[] {
  const ident = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)`;
  const re = new RegExp(
    String.raw`\b(?:from|join|into|update|table)\s+(?:only\s+)?(${ident}(?:\s*\.\s*${ident})?)`,
    'gi',
  );
  const found = new Set<string>();
  const keywords = new Set(['select', 'lateral', 'unnest', 'generate_series', 'set', 'values', 'if']);
  for (const m of sql.matchAll(re)) {
    const name = (m[1] ?? '')
      .split(/\s*\.\s*/)
      .map((part) => (part.startsWith('"') ? part.slice(1, -1).replace(/""/g, '"') : part.toLowerCase()))
      .join('.');
    if (name && !keywords.has(name)) found.add(name);
  }
  return [...found];
}

/** Why a query failed, in a form fit for an `unknown` finding. */
function reasonOf(err: unknown, timeoutMs: number): string {
  const e = err as { code?: string; message?: string };
  if (e.code === PERMISSION_DENIED) return `permission denied (${e.message ?? 'insufficient privilege'})`;
  if (e.code === STATEMENT_TIMEOUT) return `did not finish within the statement timeout of ${timeoutMs} ms`;
  if (e.code === LOCK_NOT_AVAILABLE) return `waited too long for a lock (${e.message ?? 'lock timeout'})`;
  return `the check failed: ${e.message ?? String(err)}${e.code ? ` (SQLSTATE ${e.code})` : ''}`;
}

// ---------------------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------------------

/** What a check returns; the runner adds id, engine, target, category and title. */
type Verdict = Omit<CheckResult, 'id' | 'engine' | 'target' | 'category' | 'title'>;

interface Check {
  id: string;
  category: CheckCategory;
  title: string;
  /** Skipped (no finding at all) when this returns false, e.g. replay lag on a primary. */
  applies?: (ctx: Context) => boolean;
  /** The check needs the cumulative statistics (track_counts = on). */
  needsStats?: boolean;
  run: (ctx: Context) => Promise<Verdict>;
}

interface Context {
  client: pg.Client;
  rules: AssessmentRules;
  facts: PgAssessment['facts'];
  server: ServerInfo;
}

interface ServerInfo {
  version: string;
  versionNum: number;
  uptimeSeconds: number;
  startedAt: string;
  inRecovery: boolean;
  user: string;
  database: string;
  superuser: boolean;
  readAllStats: boolean;
  trackCounts: boolean;
  statsReset: string | null;
}

const NEEDS_STATS_ROLE = 'grant the assessing user pg_read_all_stats (or pg_monitor) to see every session';

/** Sessions of pg_stat_activity, except our own, with the ones hidden from us counted apart. */
async function sessions(ctx: Context) {
  const all = await rows<{
    pid: number;
    usename: string | null;
    state: string | null;
    backend_type: string | null;
    query: string | null;
    query_s: number | null;
    xact_s: number | null;
    state_s: number | null;
  }>(
    ctx.client,
    `SELECT pid, usename, state, backend_type, query,
            extract(epoch FROM now() - query_start)::float8 AS query_s,
            extract(epoch FROM now() - xact_start)::float8 AS xact_s,
            extract(epoch FROM now() - state_change)::float8 AS state_s
       FROM pg_stat_activity WHERE pid <> pg_backend_pid()`,
  );
  const hidden = all.filter((s) => s.query === HIDDEN).length;
  return { visible: all.filter((s) => s.query !== HIDDEN && s.backend_type === 'client backend'), hidden };
}

const CHECKS: Check[] = [
  {
    id: 'pg.version',
    category: 'availability',
    title: 'PostgreSQL major version still supported',
    run: async ({ server }) => {
      const major = Math.floor(server.versionNum / 10_000);
      const eol = EOL[major];
      const now = Date.now();
      const threshold = 'warning past community end of life, info within a year of it';
      if (major < 10 || (eol !== undefined && Date.parse(eol) < now)) {
        return {
          severity: 'warning',
          value: server.version,
          threshold,
          evidence: `PostgreSQL ${major} reached end of life${eol ? ` on ${eol}` : ''}: no more security or bug fixes`,
          recommendation: 'Plan an upgrade to a supported major version (pg_upgrade or logical replication).',
        };
      }
      if (eol !== undefined && Date.parse(eol) - now < 365 * 86_400_000) {
        return {
          severity: 'info',
          value: server.version,
          threshold,
          evidence: `PostgreSQL ${major} reaches end of life on ${eol}`,
          recommendation: 'Schedule the upgrade to a newer major version before the end-of-life date.',
        };
      }
      return {
        severity: 'ok',
        value: server.version,
        threshold,
        evidence: `PostgreSQL ${major}${eol ? `, supported until ${eol}` : ''}`,
      };
    },
  },
  {
    id: 'pg.uptime',
    category: 'availability',
    title: 'Server uptime',
    run: async ({ server }) => ({
      severity: 'ok',
      value: Math.round(server.uptimeSeconds),
      evidence:
        `up ${duration(server.uptimeSeconds)} since ${server.startedAt}; ` +
        `statistics ${server.statsReset ? `reset at ${server.statsReset}` : 'never reset'}`,
    }),
  },
  {
    id: 'pg.role',
    category: 'availability',
    title: 'Replication role',
    run: async ({ client, server, facts }) => {
      if (server.inRecovery) {
        return { severity: 'ok', value: 'replica', evidence: 'the server is in recovery (a standby)' };
      }
      const [r] = await rows<{ standbys: string }>(client, `SELECT count(*) AS standbys FROM pg_stat_replication`);
      facts.standbys = num(r?.standbys);
      return { severity: 'ok', value: 'primary', evidence: `primary with ${num(r?.standbys)} connected standby(s)` };
    },
  },
  {
    id: 'pg.replication_lag',
    category: 'availability',
    title: 'Replica replay lag',
    applies: ({ server }) => server.inRecovery,
    run: async ({ client, rules, facts }) => {
      const warn = extra(rules, 'replicationLagWarnSeconds', 5);
      const crit = extra(rules, 'replicationLagCriticalSeconds', 60);
      const [r] = await rows<{ lag_s: number | null; received: string | null; replayed: string | null }>(
        client,
        `SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS lag_s,
                pg_last_wal_receive_lsn()::text AS received, pg_last_wal_replay_lsn()::text AS replayed`,
      );
      const threshold = `warning > ${warn} s, critical > ${crit} s`;
      if (!r || r.lag_s === null) {
        return { severity: 'unknown', value: null, threshold, evidence: 'no transaction replayed since start-up' };
      }
      // An idle primary sends nothing to replay: the last replay timestamp ages although the replica is current.
      const caughtUp = r.received !== null && r.received === r.replayed;
      const lag = caughtUp ? 0 : Math.max(0, r.lag_s);
      facts.replication_lag_s = round(lag);
      const severity: Severity = lag > crit ? 'critical' : lag > warn ? 'warning' : 'ok';
      return {
        severity,
        value: round(lag),
        threshold,
        evidence: caughtUp
          ? `received and replayed WAL are both at ${r.replayed}: nothing to replay (last replayed transaction ${duration(r.lag_s)} ago)`
          : `last replayed transaction ${duration(r.lag_s)} ago; received ${r.received ?? 'n/a'}, replayed ${r.replayed ?? 'n/a'}`,
        ...(severity !== 'ok' && {
          recommendation: 'Check the replica’s I/O and network, and long queries on it that hold back replay.',
        }),
      };
    },
  },
  {
    id: 'pg.replication_slots',
    category: 'availability',
    title: 'Inactive replication slots',
    run: async ({ client, facts }) => {
      const slots = await rows<{ slot_name: string; slot_type: string; active: boolean; retained: string | null }>(
        client,
        `SELECT slot_name, slot_type, active,
                CASE WHEN pg_is_in_recovery() THEN NULL
                     ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint END AS retained
           FROM pg_replication_slots ORDER BY slot_name`,
      );
      const inactive = slots.filter((s) => !s.active);
      facts.replication_slots = slots.length;
      facts.replication_slots_inactive = inactive.length;
      return {
        severity: inactive.length > 0 ? 'warning' : 'ok',
        value: inactive.length,
        count: inactive.length,
        threshold: 'warning when any slot is inactive',
        evidence:
          inactive.length === 0
            ? slots.length === 0
              ? 'no replication slot'
              : `${slots.length} slot(s), all active`
            : `${inactive.length} of ${slots.length} slot(s) inactive: ` +
              list(
                inactive.map(
                  (s) =>
                    `${s.slot_name} (${s.slot_type}, retains ${s.retained === null ? 'n/a' : bytes(num(s.retained))} of WAL)`,
                ),
              ),
        ...(inactive.length > 0 && {
          recommendation: 'An inactive slot keeps WAL until the disk fills: reconnect its consumer or drop the slot.',
        }),
      };
    },
  },
  {
    id: 'pg.connections',
    category: 'capacity',
    title: 'Connections used of max_connections minus reserved',
    run: async ({ client, rules, facts }) => {
      // pg_stat_database is readable by everyone; pg_stat_activity hides other users' rows without privilege.
      const [r] = await rows<{ used: string; max: string; su: string; reserved: string | null }>(
        client,
        `SELECT (SELECT coalesce(sum(numbackends), 0) FROM pg_stat_database) AS used,
                current_setting('max_connections') AS max,
                current_setting('superuser_reserved_connections') AS su,
                current_setting('reserved_connections', true) AS reserved`,
      );
      const used = num(r?.used);
      const max = num(r?.max);
      const reserved = num(r?.su) + num(r?.reserved);
      const usable = Math.max(1, max - reserved);
      const pct = round((100 * used) / usable, 1);
      const warn = rules.postgres.connectionsWarnPct;
      Object.assign(facts, { connections: used, max_connections: max, reserved_connections: reserved });
      const severity: Severity = used >= usable ? 'critical' : pct > warn ? 'warning' : 'ok';
      return {
        severity,
        value: pct,
        threshold: `warning > ${warn} % of usable, critical at the limit`,
        evidence: `${used} connections of ${usable} usable (max_connections ${max} − ${reserved} reserved) = ${pct} %`,
        ...(severity !== 'ok' && {
          recommendation: 'Put a connection pooler (PgBouncer) in front, or find and fix connection leaks.',
        }),
      };
    },
  },
  {
    id: 'pg.cache_hit',
    category: 'performance',
    title: 'Buffer cache hit rate (tables and indexes)',
    needsStats: true,
    run: async ({ client, rules, facts }) => {
      const [r] = await rows<{ hh: number; hr: number; ih: number; ir: number }>(
        client,
        `SELECT coalesce(sum(heap_blks_hit), 0)::float8 AS hh, coalesce(sum(heap_blks_read), 0)::float8 AS hr,
                coalesce(sum(idx_blks_hit), 0)::float8 AS ih, coalesce(sum(idx_blks_read), 0)::float8 AS ir
           FROM pg_statio_user_tables`,
      );
      const hh = num(r?.hh);
      const hr = num(r?.hr);
      const ih = num(r?.ih);
      const ir = num(r?.ir);
      const { cacheHitWarnPct: warn, cacheHitCriticalPct: crit } = rules.postgres;
      const threshold = `warning < ${warn} %, critical < ${crit} %`;
      const table = hh + hr > 0 ? round((100 * hh) / (hh + hr)) : null;
      const index = ih + ir > 0 ? round((100 * ih) / (ih + ir)) : null;
      facts.cache_hit_table_pct = table;
      facts.cache_hit_index_pct = index;
      const evidence = `table hits ${hh} / reads ${hr} (${table ?? 'n/a'} %), index hits ${ih} / reads ${ir} (${index ?? 'n/a'} %)`;
      if (hh + hr + ih + ir < CACHE_MIN_BLOCKS) {
        return {
          severity: 'unknown',
          value: table,
          threshold,
          evidence: `too little traffic to judge: ${evidence}`,
        };
      }
      const rate = (p: number | null): Severity =>
        p === null ? 'ok' : p < crit ? 'critical' : p < warn ? 'warning' : 'ok';
      const severity = worse(rate(table), rate(index));
      return {
        severity,
        value: table,
        threshold,
        evidence,
        ...(severity !== 'ok' && {
          recommendation:
            'The working set does not fit in memory: raise shared_buffers / RAM, or cut what queries read.',
        }),
      };
    },
  },
  {
    id: 'pg.long_queries',
    category: 'performance',
    title: 'Long-running queries',
    run: async (ctx) => {
      const { longQueryWarnSeconds: warn, longQueryCriticalSeconds: crit } = ctx.rules.postgres;
      const { visible, hidden } = await sessions(ctx);
      const long = visible
        .filter((s) => (s.state === 'active' || s.state === 'fastpath function call') && num(s.query_s) > warn)
        .sort((a, b) => num(b.query_s) - num(a.query_s));
      const longest = long[0] ? round(num(long[0].query_s), 1) : 0;
      ctx.facts.long_queries = long.length;
      const severity: Severity = longest > crit ? 'critical' : longest > warn ? 'warning' : 'ok';
      const seen = `${long.length} running > ${warn} s${long.length ? `: ${list(long.map((s) => `pid ${s.pid} (${s.usename ?? '?'}) ${duration(num(s.query_s))}: ${scrubSql(s.query ?? '', 80)}`))}` : ''}`;
      if (severity === 'ok' && hidden > 0) {
        return {
          severity: 'unknown',
          value: null,
          threshold: `warning > ${warn} s, critical > ${crit} s`,
          evidence: `${hidden} session(s) of other users are hidden (<insufficient privilege>); among the visible, ${seen}`,
          recommendation: NEEDS_STATS_ROLE,
        };
      }
      return {
        severity,
        value: longest,
        count: long.length,
        threshold: `warning > ${warn} s, critical > ${crit} s`,
        evidence: seen + (hidden > 0 ? `; ${hidden} session(s) hidden` : ''),
        ...(severity !== 'ok' && {
          recommendation: 'Find why these queries run so long (EXPLAIN ANALYZE); set statement_timeout per role.',
        }),
      };
    },
  },
  {
    id: 'pg.idle_in_transaction',
    category: 'performance',
    title: 'Sessions idle in transaction',
    run: async (ctx) => {
      const { idleInTransactionWarn: warn, longQueryCriticalSeconds: old } = ctx.rules.postgres;
      const { visible, hidden } = await sessions(ctx);
      const idle = visible
        .filter((s) => s.state === 'idle in transaction' || s.state === 'idle in transaction (aborted)')
        .sort((a, b) => num(b.xact_s) - num(a.xact_s));
      const oldest = idle[0] ? num(idle[0].xact_s) : 0;
      ctx.facts.idle_in_transaction = idle.length;
      const severity: Severity = idle.length >= warn || oldest > old ? 'warning' : 'ok';
      const threshold = `warning at ≥ ${warn} sessions or one open > ${old} s`;
      const seen = `${idle.length} idle in transaction${idle.length ? `, oldest transaction open ${duration(oldest)} (pid ${idle[0]?.pid})` : ''}`;
      if (severity === 'ok' && hidden > 0) {
        return {
          severity: 'unknown',
          value: null,
          threshold,
          evidence: `${hidden} session(s) of other users are hidden (<insufficient privilege>); among the visible, ${seen}`,
          recommendation: NEEDS_STATS_ROLE,
        };
      }
      return {
        severity,
        value: idle.length,
        count: idle.length,
        threshold,
        evidence: seen + (hidden > 0 ? `; ${hidden} session(s) hidden` : ''),
        ...(severity !== 'ok' && {
          recommendation:
            'Open transactions hold locks and stop vacuum: fix the application, set idle_in_transaction_session_timeout.',
        }),
      };
    },
  },
  {
    // Wraparound stops writes on the whole server, so a critical here is an availability critical (it caps the
    // score, as "down" does).
    id: 'pg.xid_age',
    category: 'availability',
    title: 'Transaction ID wraparound headroom',
    run: async ({ client, rules, facts }) => {
      const dbs = await rows<{ datname: string; age: string; mxid_age: string }>(
        client,
        `SELECT datname, age(datfrozenxid)::bigint AS age, mxid_age(datminmxid)::bigint AS mxid_age
           FROM pg_database ORDER BY age(datfrozenxid) DESC`,
      );
      const worst = dbs[0];
      const age = num(worst?.age);
      const left = XID_HORIZON - age;
      const { xidAgeWarn: warn, xidLeftCritical: crit } = rules.postgres;
      const over = dbs.filter((d) => num(d.age) > warn);
      Object.assign(facts, {
        xid_age_max: age,
        xid_left: left,
        mxid_age_max: Math.max(0, ...dbs.map((d) => num(d.mxid_age))),
      });
      const severity: Severity = left < crit ? 'critical' : age > warn ? 'warning' : 'ok';
      return {
        severity,
        value: left,
        count: over.length,
        threshold: `warning at age > ${warn}, critical < ${crit} left`,
        evidence: `oldest: ${worst?.datname ?? '?'} age ${age} (${left} left); ${list(dbs.slice(0, 5).map((d) => `${d.datname} ${d.age}`))}`,
        ...(severity !== 'ok' && {
          recommendation: 'Run VACUUM (FREEZE) on the oldest tables of these databases; find what blocks autovacuum.',
        }),
      };
    },
  },
  {
    id: 'pg.sequences',
    category: 'maintenance',
    title: 'Sequence headroom (last value vs the maximum of the sequence and its column type)',
    run: async ({ client, rules, facts }) => {
      const seqs = await rows<{
        name: string;
        pct: string | null;
        readable: boolean;
        last_value: string | null;
        limit: string;
      }>(
        client,
        `WITH s AS (
           SELECT quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename) AS name, s.last_value,
                  s.increment_by, s.cycle,
                  has_sequence_privilege(c.oid, 'SELECT,USAGE') AS readable,
                  CASE WHEN s.increment_by > 0
                       THEN least(s.max_value::numeric, coalesce(col.type_max, s.max_value::numeric))
                       ELSE greatest(s.min_value::numeric, coalesce(-col.type_max, s.min_value::numeric)) END AS lim
             FROM pg_sequences s
             JOIN pg_namespace n ON n.nspname = s.schemaname
             JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.sequencename
             LEFT JOIN LATERAL (
               SELECT CASE a.atttypid WHEN 'int2'::regtype THEN 32767::numeric WHEN 'int4'::regtype THEN 2147483647::numeric
                                      ELSE NULL END AS type_max
                 FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
                  AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
                LIMIT 1) col ON true
            WHERE ${USER_SCHEMA('s.schemaname')} AND NOT s.cycle)
         SELECT name, readable, last_value::text, lim::text AS limit,
                round(100 * last_value::numeric / nullif(lim, 0), 2)::text AS pct
           FROM s ORDER BY 100 * last_value::numeric / nullif(lim, 0) DESC NULLS LAST`,
      );
      const { sequenceWarnPct: warn, sequenceCriticalPct: crit } = rules.postgres;
      const threshold = `warning > ${warn} %, critical > ${crit} %`;
      const unreadable = seqs.filter((s) => !s.readable).length;
      const measured = seqs.filter((s) => s.pct !== null);
      const flagged = measured.filter((s) => num(s.pct) > warn);
      const top = num(measured[0]?.pct);
      facts.sequences = seqs.length;
      facts.sequence_max_pct = measured.length ? top : null;
      const severity: Severity = top > crit ? 'critical' : top > warn ? 'warning' : 'ok';
      const evidence =
        `${seqs.length} sequence(s), ${measured.length} used` +
        (unreadable ? `, ${unreadable} not readable by this user` : '') +
        (flagged.length
          ? `; over ${warn} %: ${list(flagged.map((s) => `${s.name} ${s.last_value}/${s.limit} (${s.pct} %)`))}`
          : '') +
        (measured[0] && !flagged.length ? `; highest ${measured[0].name} ${measured[0].pct} %` : '');
      if (severity === 'ok' && unreadable > 0) {
        return {
          severity: 'unknown',
          value: null,
          threshold,
          evidence,
          recommendation: 'grant the assessing user SELECT on the sequences (or pg_read_all_data)',
        };
      }
      return {
        severity,
        value: measured.length ? top : null,
        count: flagged.length,
        threshold,
        evidence,
        ...(severity !== 'ok' && {
          recommendation:
            'Move these columns and sequences to bigint (ALTER SEQUENCE … AS bigint, ALTER COLUMN … TYPE bigint).',
        }),
      };
    },
  },
  {
    id: 'pg.invalid_indexes',
    category: 'schema',
    title: 'Invalid indexes',
    run: async ({ client }) => {
      const bad = await rows<{ name: string }>(
        client,
        `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' on ' || quote_ident(t.relname) AS name
           FROM pg_index i
           JOIN pg_class c ON c.oid = i.indexrelid
           JOIN pg_class t ON t.oid = i.indrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE NOT i.indisvalid AND ${USER_SCHEMA('n.nspname')}
            AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid)
          ORDER BY 1`,
      );
      return {
        severity: bad.length ? 'warning' : 'ok',
        value: bad.length,
        count: bad.length,
        threshold: 'warning when any index is invalid (and not being built)',
        evidence: bad.length ? `${bad.length} invalid: ${list(bad.map((b) => b.name))}` : 'no invalid index',
        ...(bad.length && {
          recommendation: 'A failed CREATE INDEX CONCURRENTLY leaves these: DROP INDEX CONCURRENTLY, then build again.',
        }),
      };
    },
  },
  {
    id: 'pg.unused_indexes',
    category: 'schema',
    title: 'Unused indexes (never scanned, not unique)',
    needsStats: true,
    run: async ({ client, rules, facts }) => {
      const min = rules.postgres.unusedIndexMinBytes;
      // Size from relpages (set by CREATE INDEX, VACUUM, ANALYZE): no lock on the index, unlike pg_relation_size.
      const unused = await rows<{ name: string; bytes: string }>(
        client,
        `SELECT quote_ident(s.schemaname) || '.' || quote_ident(s.indexrelname) || ' on ' || quote_ident(s.relname) AS name,
                (c.relpages::bigint * current_setting('block_size')::int) AS bytes
           FROM pg_stat_user_indexes s
           JOIN pg_index i ON i.indexrelid = s.indexrelid
           JOIN pg_class c ON c.oid = s.indexrelid
          WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary AND i.indisvalid
            AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = s.indexrelid)
            AND c.relpages::bigint * current_setting('block_size')::int >= $1
          ORDER BY 2 DESC, 1`,
        [min],
      );
      const total = unused.reduce((a, u) => a + num(u.bytes), 0);
      facts.unused_indexes = unused.length;
      facts.unused_index_bytes = total;
      return {
        severity: unused.length ? 'warning' : 'ok',
        value: unused.length,
        count: unused.length,
        threshold: `warning when a non-unique index ≥ ${bytes(min)} has idx_scan = 0`,
        evidence: unused.length
          ? `${unused.length} unused, ${bytes(total)} in all: ${list(unused.map((u) => `${u.name} ${bytes(num(u.bytes))}`))}`
          : 'every non-unique index of that size has been scanned',
        ...(unused.length && {
          recommendation:
            'Counters are per server since the last statistics reset: check replicas too, then DROP INDEX CONCURRENTLY.',
        }),
      };
    },
  },
  {
    id: 'pg.dead_tuples',
    category: 'maintenance',
    title: 'Dead tuples waiting for vacuum',
    needsStats: true,
    run: async ({ client, rules }) => {
      const { deadTuplesWarnPct: pct, deadTuplesWarnMin: min } = rules.postgres;
      const bad = await rows<{ name: string; live: string; dead: string; pct: string }>(
        client,
        `SELECT quote_ident(schemaname) || '.' || quote_ident(relname) AS name, n_live_tup AS live, n_dead_tup AS dead,
                round(100.0 * n_dead_tup / greatest(n_live_tup + n_dead_tup, 1), 1)::text AS pct
           FROM pg_stat_user_tables
          WHERE n_dead_tup > $1 AND 100.0 * n_dead_tup / greatest(n_live_tup + n_dead_tup, 1) >= $2
          ORDER BY n_dead_tup DESC`,
        [min, pct],
      );
      return {
        severity: bad.length ? 'warning' : 'ok',
        value: bad.length,
        count: bad.length,
        threshold: `warning at ≥ ${pct} % dead and > ${min} dead tuples`,
        evidence: bad.length
          ? list(bad.map((b) => `${b.name} ${b.dead} dead / ${b.live} live (${b.pct} %)`))
          : 'no table over the threshold',
        ...(bad.length && {
          recommendation: 'VACUUM these tables; check that autovacuum is enabled on them and keeps up.',
        }),
      };
    },
  },
  {
    // "Stale" = autovacuum's own trigger (threshold + scale factor × rows) is exceeded, yet the last (auto)vacuum
    // or (auto)analyze is older than the rules allow. Tables that never had one are the other checks' business.
    id: 'pg.vacuum_stale',
    category: 'maintenance',
    title: 'Vacuum / analyze not run for days despite changes',
    needsStats: true,
    run: async ({ client, rules }) => {
      const days = rules.postgres.vacuumStaleDays;
      const stale = await rows<{
        name: string;
        vac_days: number | null;
        an_days: number | null;
        dead: string;
        mods: string;
      }>(
        client,
        `SELECT quote_ident(s.schemaname) || '.' || quote_ident(s.relname) AS name,
                extract(epoch FROM now() - greatest(s.last_vacuum, s.last_autovacuum))::float8 / 86400 AS vac_days,
                extract(epoch FROM now() - greatest(s.last_analyze, s.last_autoanalyze))::float8 / 86400 AS an_days,
                s.n_dead_tup AS dead, s.n_mod_since_analyze AS mods
           FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
          WHERE (greatest(s.last_vacuum, s.last_autovacuum) < now() - make_interval(days => $1)
                 AND s.n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float8
                       + current_setting('autovacuum_vacuum_scale_factor')::float8 * greatest(c.reltuples, 0))
             OR (greatest(s.last_analyze, s.last_autoanalyze) < now() - make_interval(days => $1)
                 AND s.n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::float8
                       + current_setting('autovacuum_analyze_scale_factor')::float8 * greatest(c.reltuples, 0))
          ORDER BY 1`,
        [days],
      );
      return {
        severity: stale.length ? 'warning' : 'ok',
        value: stale.length,
        count: stale.length,
        threshold: `warning when the last (auto)vacuum/analyze is > ${days} d old and autovacuum's trigger is exceeded`,
        evidence: stale.length
          ? list(
              stale.map(
                (s) =>
                  `${s.name}: vacuum ${s.vac_days === null ? 'never' : `${round(s.vac_days, 1)} d`} ago (${s.dead} dead), ` +
                  `analyze ${s.an_days === null ? 'never' : `${round(s.an_days, 1)} d`} ago (${s.mods} changes)`,
              ),
            )
          : `no table with pending work older than ${days} d`,
        ...(stale.length && {
          recommendation:
            'Autovacuum is not keeping up or is disabled on these tables: check its settings and workers.',
        }),
      };
    },
  },
  {
    id: 'pg.missing_primary_keys',
    category: 'schema',
    title: 'Tables without a primary key',
    run: async ({ client, facts }) => {
      const missing = await rows<{ name: string }>(
        client,
        `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND ${USER_SCHEMA('n.nspname')}
            AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
            AND NOT EXISTS (SELECT 1 FROM pg_depend d
                             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
          ORDER BY 1`,
      );
      facts.tables_without_pk = missing.length;
      return {
        severity: missing.length ? 'warning' : 'ok',
        value: missing.length,
        count: missing.length,
        threshold: 'warning when any table has no primary key',
        evidence: missing.length ? list(missing.map((m) => m.name)) : 'every table has a primary key',
        ...(missing.length && {
          recommendation: 'Add a primary key: logical replication, online migration and safe deduplication need one.',
        }),
      };
    },
  },
  {
    id: 'pg.tables_without_stats',
    category: 'performance',
    title: 'Tables never analyzed (no planner statistics)',
    needsStats: true,
    run: async ({ client, rules, server }) => {
      const min = extra(rules, 'noStatsMinRows', 1_000);
      const missing = await rows<{ name: string; rows: string }>(
        client,
        `SELECT quote_ident(s.schemaname) || '.' || quote_ident(s.relname) AS name,
                greatest(s.n_live_tup, c.reltuples::bigint) AS rows
           FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
          WHERE s.last_analyze IS NULL AND s.last_autoanalyze IS NULL
            AND greatest(s.n_live_tup, c.reltuples::bigint) >= $1
          ORDER BY 2 DESC, 1`,
        [min],
      );
      return {
        severity: missing.length ? 'warning' : 'ok',
        value: missing.length,
        count: missing.length,
        threshold: `warning for a table of ≥ ${min} rows never analyzed`,
        evidence:
          (missing.length
            ? list(missing.map((m) => `${m.name} (~${m.rows} rows)`))
            : 'every table of that size has statistics') +
          (server.statsReset ? ` (statistics since ${server.statsReset})` : ''),
        ...(missing.length && {
          recommendation: 'ANALYZE these tables; without statistics the planner guesses row counts.',
        }),
      };
    },
  },
  {
    id: 'pg.settings',
    category: 'performance',
    title: 'Configuration (autovacuum, statistics, memory defaults)',
    run: async ({ client, facts }) => {
      const settings = await rows<{ name: string; setting: string; unit: string | null; boot_val: string | null }>(
        client,
        `SELECT name, setting, unit, boot_val FROM pg_settings
          WHERE name IN ('autovacuum', 'track_counts', 'shared_buffers', 'effective_cache_size', 'maintenance_work_mem',
                         'work_mem', 'checkpoint_completion_target', 'random_page_cost', 'max_connections')`,
      );
      const s = new Map(settings.map((x) => [x.name, x]));
      for (const x of settings) facts[`setting_${x.name}`] = x.unit ? `${x.setting} ${x.unit}` : x.setting;
      const problems: string[] = [];
      const hints: string[] = [];
      if (s.get('autovacuum')?.setting === 'off') problems.push('autovacuum is off (wraparound and bloat risk)');
      if (s.get('track_counts')?.setting === 'off') problems.push('track_counts is off (autovacuum cannot work)');
      const atDefault = (name: string): boolean => {
        const x = s.get(name);
        return x !== undefined && x.boot_val !== null && x.setting === x.boot_val;
      };
      // initdb writes 128 MB (16384 × 8 kB) into postgresql.conf; boot_val is the compiled-in 8 MB.
      if (num(s.get('shared_buffers')?.setting) * 8192 <= 128 * 1024 * 1024)
        hints.push(`shared_buffers ${bytes(num(s.get('shared_buffers')?.setting) * 8192)} (pgtune: RAM/4)`);
      if (atDefault('effective_cache_size')) hints.push('effective_cache_size at its default (pgtune: 3/4 of RAM)');
      if (atDefault('maintenance_work_mem')) hints.push('maintenance_work_mem at its default (pgtune: RAM/16, ≤ 8 GB)');
      if (num(s.get('checkpoint_completion_target')?.setting) < 0.9)
        hints.push('checkpoint_completion_target below 0.9');
      if (num(s.get('random_page_cost')?.setting) >= 4) hints.push('random_page_cost 4 (on SSD pgtune uses 1.1)');
      const severity: Severity = problems.length ? 'warning' : hints.length ? 'info' : 'ok';
      return {
        severity,
        value: problems.length + hints.length,
        count: problems.length + hints.length,
        threshold: 'warning when autovacuum or track_counts is off; info for settings left at defaults pgtune changes',
        evidence: [...problems, ...hints].join('; ') || 'no deviation found',
        ...(severity !== 'ok' && {
          recommendation: 'Size memory settings to the host (pgtune); never run with autovacuum or track_counts off.',
        }),
      };
    },
  },
];

// ---------------------------------------------------------------------------------------------------------
// assessPostgres
// ---------------------------------------------------------------------------------------------------------

/**
 * Assesses the database `endpoint` names, read-only: findings (ids `pg.*`), volume and facts. Never throws
 * for a server that cannot be reached (connection refused, timeout, authentication): `up: false` with one
 * critical `pg.reachable`. Rejects only on abort, or when the session cannot be made read-only.
 */
export async function assessPostgres(
  endpoint: AssessEndpoint,
  target: string,
  rules: AssessmentRules = ASSESSMENT_RULES,
  options: { signal?: AbortSignal } = {},
): Promise<PgAssessment> {
  const { signal } = options;
  signal?.throwIfAborted();
  const facts: PgAssessment['facts'] = {};
  const started = Date.now();
  const params = clientParams(endpoint);
  facts.host = `${params.host ?? 'localhost'}:${params.port ?? 5432}`;
  let client: pg.Client;
  try {
    client = await connect(endpoint);
  } catch (err) {
    // Refused, timed out, unknown host, authentication, no such database, too many clients, starting up:
    // the database is not available to dbops, which is the finding.
    signal?.throwIfAborted();
    const e = err as { code?: string; message?: string };
    facts.reachable = false;
    facts.error_code = e.code ?? null;
    return {
      up: false,
      findings: [
        {
          id: 'pg.reachable',
          engine: 'postgres',
          target,
          category: 'availability',
          severity: 'critical',
          title: 'Server reachable',
          value: 'down',
          evidence: `${endpoint.label} (${facts.host}): cannot connect: ${e.message ?? String(err)}${e.code ? ` (${e.code})` : ''}`,
          recommendation: 'Check that the server runs and accepts connections from the worker, and the credentials.',
        },
      ],
      facts,
    };
  }
  const connectMs = Date.now() - started;
  // Never assess on a session that is not read-only: a refusal here is an error, not "down".
  await makeReadOnly(client, rules);
  return runOn(
    client,
    async (c) => {
      const server = await serverInfo(c);
      Object.assign(facts, {
        reachable: true,
        connect_ms: connectMs,
        version: server.version,
        server_version_num: server.versionNum,
        uptime_s: Math.round(server.uptimeSeconds),
        in_recovery: server.inRecovery,
        user: server.user,
        database: server.database,
        superuser: server.superuser,
        read_all_stats: server.readAllStats,
        track_counts: server.trackCounts,
        stats_reset: server.statsReset,
      });
      const findings: CheckResult[] = [
        {
          id: 'pg.reachable',
          engine: 'postgres',
          target,
          category: 'availability',
          severity: 'ok',
          title: 'Server reachable',
          value: 'up',
          evidence: `connected to ${server.database} as ${server.user} in ${connectMs} ms`,
        },
      ];
      const ctx: Context = { client: c, rules, facts, server };
      for (const check of CHECKS) {
        signal?.throwIfAborted();
        if (check.applies && !check.applies(ctx)) continue;
        const head = {
          id: check.id,
          engine: 'postgres' as const,
          target,
          category: check.category,
          title: check.title,
        };
        if (check.needsStats && !server.trackCounts) {
          findings.push({
            ...head,
            severity: 'unknown',
            value: null,
            evidence: 'track_counts is off: the server keeps no table statistics',
          });
          continue;
        }
        try {
          findings.push({ ...head, ...(await check.run(ctx)) });
        } catch (err) {
          signal?.throwIfAborted();
          findings.push({
            ...head,
            severity: 'unknown',
            value: null,
            evidence: reasonOf(err, rules.statementTimeoutMs),
          });
        }
      }
      let volume: VolumeReport | undefined;
      try {
        volume = await measureVolume(c, target, rules, facts, signal);
      } catch (err) {
        signal?.throwIfAborted();
        facts.volume_error = reasonOf(err, rules.statementTimeoutMs);
      }
      facts.assess_ms = Date.now() - started;
      return { up: true, version: server.version, findings, ...(volume && { volume }), facts };
    },
    signal,
  );
}

async function serverInfo(client: pg.Client): Promise<ServerInfo> {
  const [r] = await rows<{
    version: string;
    version_num: number;
    uptime_s: number;
    started: string;
    in_recovery: boolean;
    usr: string;
    db: string;
    superuser: boolean;
    read_all_stats: boolean;
    track_counts: string;
    stats_reset: string | null;
  }>(
    client,
    `SELECT current_setting('server_version') AS version,
            current_setting('server_version_num')::int AS version_num,
            extract(epoch FROM now() - pg_postmaster_start_time())::float8 AS uptime_s,
            to_char(pg_postmaster_start_time() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS started,
            pg_is_in_recovery() AS in_recovery, current_user AS usr, current_database() AS db,
            (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
            pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS read_all_stats,
            current_setting('track_counts') AS track_counts,
            (SELECT to_char(stats_reset AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
               FROM pg_stat_database WHERE datname = current_database()) AS stats_reset`,
  );
  if (!r) throw new Error('PostgreSQL returned no row for the server description');
  return {
    version: r.version,
    versionNum: r.version_num,
    uptimeSeconds: num(r.uptime_s),
    startedAt: r.started,
    inRecovery: r.in_recovery,
    user: r.usr,
    database: r.db,
    superuser: r.superuser === true,
    readAllStats: r.read_all_stats === true,
    trackCounts: r.track_counts === 'on',
    statsReset: r.stats_reset,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Volume
// ---------------------------------------------------------------------------------------------------------

type TableRow = {
  schema: string;
  name: string;
  reltuples: number;
  live: number;
  data: string;
  idx: string;
};

/** Tables with unknown statistics are counted exactly only up to this size (a full scan must stay cheap). */
const UNKNOWN_STATS_COUNT_MAX_BYTES = 64 * 1024 * 1024;
/** Exact counting stops after this long (the rest keep their estimates): the whole assessment targets < 60 s. */
const COUNT_BUDGET_MS = 30_000;

/**
 * Per table: estimates (reltuples, n_live_tup), sizes, and an exact count(*) where the estimate is at most
 * `exactCountMaxRows` — sequential scans only, so that counting does not bump any index's idx_scan (which
 * would hide an unused index). A count that times out or is refused keeps the estimate, and so do the
 * tables left when the counting budget is spent. Each count adds one seq_scan to its table's counters.
 */
async function measureVolume(
  client: pg.Client,
  target: string,
  rules: AssessmentRules,
  facts: PgAssessment['facts'],
  signal?: AbortSignal,
): Promise<VolumeReport> {
  const [db] = await rows<{ size: string }>(client, `SELECT pg_database_size(current_database()) AS size`);
  const base = (sizes: string): string =>
    `SELECT n.nspname AS schema, c.relname AS name, c.reltuples::float8 AS reltuples,
            coalesce(s.n_live_tup, 0)::float8 AS live, ${sizes}
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
      WHERE c.relkind IN ('r', 'm') AND ${USER_SCHEMA('n.nspname')}`;
  let tables: TableRow[];
  try {
    tables = await rows<TableRow>(client, base(`pg_table_size(c.oid) AS data, pg_indexes_size(c.oid) AS idx`));
  } catch (err) {
    // pg_table_size locks each table; one under an exclusive lock (DDL) fails the lot: fall back to relpages.
    if ((err as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw err;
    facts.volume_sizes_from_relpages = true;
    tables = await rows<TableRow>(
      client,
      base(
        `(c.relpages::bigint * current_setting('block_size')::int) AS data,
         (SELECT coalesce(sum(ic.relpages), 0)::bigint * current_setting('block_size')::int
            FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid) AS idx`,
      ),
    );
  }
  const out: TableVolume[] = [];
  let exact = 0;
  let failed = 0;
  const limit = rules.exactCountMaxRows;
  const countingUntil = Date.now() + COUNT_BUDGET_MS;
  let skipped = 0;
  // Counting is the only part that reads user tables: keep it off indexes (see above).
  await client.query('SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off');
  try {
    for (const t of tables) {
      signal?.throwIfAborted();
      const statsKnown = t.reltuples >= 0 || t.live > 0;
      const estimate = Math.max(0, Math.round(t.reltuples >= 0 ? Math.max(t.reltuples, t.live) : t.live));
      const small = statsKnown ? estimate <= limit : num(t.data) <= UNKNOWN_STATS_COUNT_MAX_BYTES;
      let rowsCount = estimate;
      let rowsExact = false;
      const inBudget = Date.now() < countingUntil;
      if (small && !inBudget) skipped += 1;
      if (small && inBudget) {
        try {
          const [r] = await rows<{ n: string }>(client, `SELECT count(*) AS n FROM ${qualified(t.schema, t.name)}`);
          rowsCount = num(r?.n);
          rowsExact = true;
          exact += 1;
        } catch {
          signal?.throwIfAborted();
          failed += 1;
        }
      }
      out.push({
        name: `${t.schema}.${t.name}`,
        rows: rowsCount,
        rowsExact,
        dataBytes: num(t.data),
        indexBytes: num(t.idx),
      });
    }
  } finally {
    await client
      .query('RESET enable_indexscan; RESET enable_indexonlyscan; RESET enable_bitmapscan')
      .catch(() => undefined);
  }
  out.sort((a, b) => b.dataBytes + b.indexBytes - (a.dataBytes + a.indexBytes) || a.name.localeCompare(b.name));
  Object.assign(facts, {
    db_size_bytes: num(db?.size),
    tables: out.length,
    rows_total: out.reduce((a, t) => a + t.rows, 0),
    tables_counted_exactly: exact,
    tables_count_failed: failed,
    tables_count_skipped_for_time: skipped,
  });
  return { target, engine: 'postgres', totalBytes: num(db?.size), tables: out };
}

// ---------------------------------------------------------------------------------------------------------
// Usage, live patterns, probes, fingerprint
// ---------------------------------------------------------------------------------------------------------

/**
 * Cumulative read and write counters per table (`schema.table`) from pg_stat_user_tables, for two samples a
 * window apart. `reads` = seq_scan + idx_scan: scans started, i.e. operations, the unit of the rules'
 * `hotOpsPerMinute` (tuple counts would make one report query over a big table look like heavy traffic).
 * `writes` = n_tup_ins + n_tup_upd + n_tup_del: rows written. Counters reach the view when a backend flushes
 * its statistics (at most about once a second while busy, on idle, and at exit).
 */
export async function pgUsageCounters(
  endpoint: AssessEndpoint,
): Promise<Record<string, { reads: number; writes: number }>> {
  return withAssessSession(endpoint, async (client) => {
    const stats = await rows<{ name: string; reads: string; writes: string }>(
      client,
      `SELECT schemaname || '.' || relname AS name,
              coalesce(seq_scan, 0) + coalesce(idx_scan, 0) AS reads,
              n_tup_ins + n_tup_upd + n_tup_del AS writes
         FROM pg_stat_user_tables ORDER BY 1`,
    );
    const out: Record<string, { reads: number; writes: number }> = {};
    for (const s of stats) out[s.name] = { reads: num(s.reads), writes: num(s.writes) };
    return out;
  });
}

/**
 * The `limit` statements of this database with the most total execution time, from pg_stat_statements —
 * when the extension is installed here, loaded (shared_preload_libraries) and readable; otherwise no
 * patterns and `unknown` saying why. Text is normalised (literals → `?`); statements of other users that
 * the assessing user may not see are left out.
 */
export async function pgLivePatterns(
  endpoint: AssessEndpoint,
  limit = 20,
): Promise<{ patterns: QueryPattern[]; unknown?: string }> {
  return withAssessSession(endpoint, async (client) => {
    const [ext] = await rows<{ schema: string; version_num: number }>(
      client,
      `SELECT n.nspname AS schema, current_setting('server_version_num')::int AS version_num
         FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`,
    );
    if (!ext) {
      return {
        patterns: [],
        unknown:
          'pg_stat_statements is not installed in this database (add it to shared_preload_libraries, restart, ' +
          'then CREATE EXTENSION pg_stat_statements)',
      };
    }
    const time = ext.version_num >= 130_000 ? 'total_exec_time' : 'total_time';
    const mean = ext.version_num >= 130_000 ? 'mean_exec_time' : 'mean_time';
    let stats: { query: string | null; calls: string; mean_ms: number }[];
    try {
      stats = await rows(
        client,
        `SELECT query, calls, ${mean}::float8 AS mean_ms
           FROM ${qualified(ext.schema, 'pg_stat_statements')}
          WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND query IS NOT NULL AND query <> '<insufficient privilege>'
          ORDER BY ${time} DESC LIMIT $1`,
        [Math.max(1, Math.floor(limit))],
      );
    } catch (err) {
      return { patterns: [], unknown: `pg_stat_statements cannot be read: ${(err as Error).message}` };
    }
    const patterns = stats.map((s): QueryPattern => {
      const text = scrubSql(s.query ?? '');
      return {
        text,
        kind: sqlKind(text),
        tables: sqlTables(text),
        calls: num(s.calls),
        meanMs: round(num(s.mean_ms), 3),
      };
    });
    if (patterns.length === 0) {
      const [vis] = await rows<{ hidden: string }>(
        client,
        `SELECT count(*) AS hidden FROM ${qualified(ext.schema, 'pg_stat_statements')} WHERE query = '<insufficient privilege>'`,
      );
      if (num(vis?.hidden) > 0) {
        return {
          patterns,
          unknown: `${num(vis?.hidden)} statement(s) of other users are hidden: ${NEEDS_STATS_ROLE}`,
        };
      }
    }
    return { patterns };
  });
}

/**
 * Runs `sql` `runs` times on a read-only session under the statement timeout (extended protocol: exactly one
 * statement) and returns each run's wall time in ms and the row count of the last run. Throws when the
 * statement fails (including any attempt to write).
 */
export async function pgRunProbe(
  endpoint: AssessEndpoint,
  sql: string,
  runs: number,
): Promise<{ durationsMs: number[]; rows: number }> {
  return withAssessSession(endpoint, async (client) => {
    const durationsMs: number[] = [];
    let count = 0;
    for (let i = 0; i < Math.max(1, Math.floor(runs)); i += 1) {
      const t0 = process.hrtime.bigint();
      const result = await client.query({ text: sql, queryMode: 'extended' } as pg.QueryConfig);
      durationsMs.push(round(Number(process.hrtime.bigint() - t0) / 1e6, 3));
      count = result.rows.length;
    }
    return { durationsMs, rows: count };
  });
}

/**
 * Default probes for the `maxTables` largest tables (by size) that have a primary key and a row: a lookup
 * on a real existing key (the smallest, read through the primary key index) and a 100-row range scan
 * from it in key order. Tables the user may not SELECT are skipped.
 */
export async function pgDefaultProbes(
  endpoint: AssessEndpoint,
  maxTables = 5,
): Promise<{ name: string; sql: string }[]> {
  return withAssessSession(endpoint, async (client) => {
    const tables = await rows<{ schema: string; name: string; cols: string[]; types: string[] }>(
      client,
      `SELECT n.nspname AS schema, c.relname AS name,
              array_agg(a.attname::text ORDER BY k.ord) AS cols,
              array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY k.ord) AS types
         FROM pg_index i
         JOIN pg_class c ON c.oid = i.indrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
        WHERE i.indisprimary AND c.relkind IN ('r', 'm') AND ${USER_SCHEMA('n.nspname')}
          AND has_table_privilege(c.oid, 'SELECT')
        GROUP BY n.nspname, c.relname, c.oid
        ORDER BY pg_relation_size(c.oid) DESC, 1, 2
        LIMIT $1`,
      [Math.max(0, Math.floor(maxTables))],
    );
    const probes: { name: string; sql: string }[] = [];
    for (const t of tables) {
      const table = qualified(t.schema, t.name);
      const cols = t.cols.map((c) => qi(c));
      const order = cols.join(', ');
      let first: Row | undefined;
      try {
        [first] = await rows<Row>(
          client,
          `SELECT ${cols.map((c, i) => `${c}::text AS k${i}`).join(', ')} FROM ${table} ORDER BY ${order} LIMIT 1`,
        );
      } catch {
        continue;
      }
      if (!first) continue;
      const literal = (i: number): string => `${ql(String(first[`k${i}`]))}::${t.types[i]}`;
      const key = cols.map((c, i) => `${c} = ${literal(i)}`).join(' AND ');
      const label = `${t.schema}.${t.name}`;
      probes.push({ name: `${label} pk lookup`, sql: `SELECT * FROM ${table} WHERE ${key}` });
      probes.push({
        name: `${label} range scan`,
        sql: `SELECT * FROM ${table} WHERE ${cols[0]} >= ${literal(0)} ORDER BY ${order} LIMIT 100`,
      });
    }
    return probes;
  });
}

/**
 * A sha256 over the database's logical state as the catalogs describe it: every user relation (kind,
 * columns, constraints, index definitions), sequence last values, row estimates (reltuples, n_live_tup) and
 * the write counters n_tup_ins/upd/del. Equal before and after an operation ⇒ it wrote nothing. Excludes
 * what reads legitimately change: scan counters, dead-tuple counts (pruning), hint bits.
 */
export async function pgFingerprint(endpoint: AssessEndpoint): Promise<string> {
  return withAssessSession(endpoint, async (client) => {
    // One statement at a time: a pg client runs queries in sequence anyway.
    const parts: Row[][] = [];
    for (const sql of [
      `SELECT n.nspname, c.relname, c.relkind, c.reltuples, c.relpages, c.relhasindex,
                pg_get_userbyid(c.relowner) AS owner, c.relacl::text AS acl
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE ${USER_SCHEMA('n.nspname')} ORDER BY 1, 2`,
      `SELECT c.oid::regclass::text AS rel, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
                a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS def
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attnum > 0 AND NOT a.attisdropped AND ${USER_SCHEMA('n.nspname')} ORDER BY 1, 2`,
      `SELECT k.conrelid::regclass::text AS rel, k.conname, pg_get_constraintdef(k.oid) AS def, k.convalidated
           FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
          WHERE ${USER_SCHEMA('n.nspname')} ORDER BY 1, 2`,
      `SELECT schemaname, indexname, indexdef FROM pg_indexes WHERE ${USER_SCHEMA('schemaname')} ORDER BY 1, 2`,
      `SELECT schemaname, sequencename, last_value::text FROM pg_sequences WHERE ${USER_SCHEMA('schemaname')} ORDER BY 1, 2`,
      `SELECT schemaname, relname, n_tup_ins, n_tup_upd, n_tup_del, n_live_tup
           FROM pg_stat_user_tables ORDER BY 1, 2`,
    ])
      parts.push(await rows(client, sql));
    return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  });
}
