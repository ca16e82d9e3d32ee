/**
 * The week-2 migration plan, chosen from measured facts and the `plan` rules — never from opinion:
 *
 * - Plan A, consolidate into PostgreSQL: time series into TimescaleDB hypertables when the extension is
 *   available, else native monthly range partitions with a BRIN index on the time column; reference data
 *   (MySQL, SQLite) into ordinary tables; Redis kept as a cache, or replaced by UNLOGGED tables and
 *   LISTEN/NOTIFY when it is no larger than `plan.redisMaxBytesAsTable`.
 * - Plan B, PostgreSQL plus the store that cannot move: chosen when a rule blocks consolidation — the
 *   largest time series has more than `plan.tsdbMaxRowsForPostgres` rows or ingests more than
 *   `plan.tsdbMaxIngestRowsPerSecond` rows/s (keep the time-series store), Redis is used as a store (not a
 *   cache) and is larger than `plan.redisMaxBytesAsTable` (keep Redis), or MySQL uses a feature named in
 *   `plan.mysqlFeaturesBlocking` (keep MySQL for those tables). Everything else still moves to PostgreSQL.
 *
 * Redis counts as a cache when its maxmemory-policy evicts (anything but `noeviction`) or at least
 * `plan.redisCacheMinTtlSharePct` % of its keys have a TTL; otherwise, or when neither is known, as a store
 * (the cautious reading: store data must be migrated, a cache only rebuilt).
 *
 * Every reason and risk quotes the numbers it rests on (rows, rows/s, bytes, counts, shares, limits). The
 * migration order is always: fix PostgreSQL if it is down or capped, prepare it, reference data first,
 * history next, the live time series last, the cache at cutover.
 *
 * Pure and deterministic: imported by workflow code.
 */
import type { AssessedEngine, HealthScore, VolumeReport } from '../contracts/assessment';
import { ASSESSMENT_RULES, type AssessmentRules } from './rules';

/** What the plan is decided on: every number measured by the assessment (absent = not measured). */
export interface PlanFacts {
  /** Measured size and rows of every assessed database. */
  volumes: VolumeReport[];
  /**
   * The largest time-series table (a TDengine supertable). When absent, the largest table of the
   * `tdengine` volumes is used, with an unknown ingest rate.
   */
  timeSeries?: {
    target: string;
    /** `db.stable`. */
    name: string;
    rows: number;
    /** Measured ingest rate in rows per second, when known. */
    ingestRowsPerSecond?: number;
  };
  /** The Redis instance and how it is used. */
  redis?: {
    target: string;
    /** `used_memory` in bytes. */
    usedBytes: number;
    /** keyspace_hits / (hits + misses), in %. */
    hitRatePct?: number;
    /** Share of keys that carry a TTL, in %. */
    ttlKeySharePct?: number;
    /** `maxmemory-policy`, e.g. `allkeys-lru` or `noeviction`. */
    evictionPolicy?: string;
  };
  /** MySQL features that do not translate one-to-one to PostgreSQL. */
  mysql?: {
    target: string;
    /** Tables whose engine is not InnoDB (MyISAM, MEMORY, ARCHIVE…). */
    nonInnoDbTables: number;
    /** FULLTEXT indexes in all, and those of them on MyISAM tables. */
    fullTextIndexes: number;
    fullTextOnMyIsam: number;
    spatialIndexes: number;
    triggers: number;
    /** Stored procedures and functions. */
    routines: number;
  };
  /** The PostgreSQL that would receive the data. */
  postgres?: {
    target: string;
    up: boolean;
    /** `timescaledb` is in pg_available_extensions (installable) or already installed. */
    timescaledbAvailable: boolean;
    health?: HealthScore;
  };
  /** Query patterns on the time series (live or found in code): how many, and how many filter on time. */
  queries?: { timeSeries: number; timeRange: number };
}

/** The chosen plan: what, why (with numbers), in which order, and what can go wrong. */
export interface MigrationPlan {
  id: 'A' | 'B';
  title: string;
  reasons: string[];
  order: string[];
  risks: string[];
}

/** One decimal, no trailing `.0`: 1.25 → "1.3", 5 → "5". */
function oneDecimal(x: number): string {
  return String(Math.round(x * 10) / 10);
}

/** An integer with thousands separators: 4100 → "4,100". */
function grouped(n: number): string {
  const r = Math.round(Math.abs(n));
  return `${n < 0 ? '-' : ''}${String(r).replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`;
}

/** A count for people: 4,100 · 12.3 M · 1.2 B. */
function count(n: number): string {
  if (Math.abs(n) >= 1e9) return `${oneDecimal(n / 1e9)} B`;
  if (Math.abs(n) >= 1e6) return `${oneDecimal(n / 1e6)} M`;
  return grouped(n);
}

/** Bytes in binary units: 300 MiB, 2 GiB. */
function bytes(n: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  if (Math.abs(n) < 1024) return `${grouped(n)} B`;
  let v = n / 1024;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${oneDecimal(v)} ${units[i]}`;
}

/** `value unit ≤|> limit unit limit`, exact when rounding would make a value over the limit look equal to it. */
function againstLimit(value: number, limit: number, format: (n: number) => string, unit: string): string {
  let a = format(value);
  let b = format(limit);
  if (a === b && value !== limit) {
    a = grouped(value);
    b = grouped(limit);
  }
  return `${a}${unit} ${value <= limit ? '≤' : '>'} ${b}${unit} limit`;
}

/** Sum of sizes, rows and tables of the volumes of one engine. */
function engineVolume(volumes: VolumeReport[], engine: AssessedEngine) {
  const of = volumes.filter((v) => v.engine === engine);
  return {
    targets: of.map((v) => v.target),
    bytes: of.reduce((s, v) => s + v.totalBytes, 0),
    rows: of.reduce((s, v) => s + v.tables.reduce((t, tb) => t + tb.rows, 0), 0),
    tables: of.reduce((s, v) => s + v.tables.length, 0),
    estimated: of.some((v) => v.tables.some((t) => !t.rowsExact)),
    growthBytesPerDay: of.reduce((s, v) => s + (v.growthBytesPerDay ?? 0), 0),
  };
}

/** The time series the plan is about: the given one, else the largest TDengine table measured. */
function timeSeriesOf(facts: PlanFacts): PlanFacts['timeSeries'] {
  if (facts.timeSeries) return facts.timeSeries;
  let best: PlanFacts['timeSeries'];
  for (const v of facts.volumes.filter((x) => x.engine === 'tdengine')) {
    for (const t of v.tables) {
      if (!best || t.rows > best.rows) best = { target: v.target, name: t.name, rows: t.rows };
    }
  }
  return best;
}

/** Whether Redis is a cache or a store, and the numbers that say so. */
function redisRole(redis: NonNullable<PlanFacts['redis']>, rules: AssessmentRules) {
  const evicting = redis.evictionPolicy !== undefined && redis.evictionPolicy !== 'noeviction';
  const ttlCache = redis.ttlKeySharePct !== undefined && redis.ttlKeySharePct >= rules.plan.redisCacheMinTtlSharePct;
  const parts = [
    `maxmemory-policy ${redis.evictionPolicy ?? 'unknown'}`,
    redis.ttlKeySharePct === undefined
      ? 'TTL share unknown'
      : `${oneDecimal(redis.ttlKeySharePct)} % of keys with a TTL (cache from ${rules.plan.redisCacheMinTtlSharePct} %)`,
    redis.hitRatePct === undefined ? 'hit rate unknown' : `hit rate ${oneDecimal(redis.hitRatePct)} %`,
  ];
  return { role: evicting || ttlCache ? ('cache' as const) : ('store' as const), evidence: parts.join(', ') };
}

/**
 * Chooses Plan A (consolidate into PostgreSQL) or Plan B (PostgreSQL plus the store a rule says cannot
 * move) from measured facts; see the file comment. `rules` defaults to the shipped rules.json.
 */
export function choosePlan(facts: PlanFacts, rules: AssessmentRules = ASSESSMENT_RULES): MigrationPlan {
  const limits = rules.plan;
  const reasons: string[] = [];
  const blockers: string[] = [];
  const kept: string[] = [];
  const order: string[] = [];
  const risks: string[] = [];

  // --- Time series ---------------------------------------------------------------------------------
  const ts = timeSeriesOf(facts);
  const tsdb = engineVolume(facts.volumes, 'tdengine');
  let tsKept = false;
  if (ts) {
    const tooBig = ts.rows > limits.tsdbMaxRowsForPostgres;
    const ingest = ts.ingestRowsPerSecond;
    const tooFast = ingest !== undefined && ingest > limits.tsdbMaxIngestRowsPerSecond;
    const rowsText = againstLimit(ts.rows, limits.tsdbMaxRowsForPostgres, count, ' rows');
    const ingestText =
      ingest === undefined
        ? `ingest rate not measured (limit ${grouped(limits.tsdbMaxIngestRowsPerSecond)} rows/s)`
        : againstLimit(ingest, limits.tsdbMaxIngestRowsPerSecond, grouped, ' rows/s');
    const line = `TDengine ${ts.name} (${ts.target}): ${rowsText}, ${ingestText}`;
    if (tooBig || tooFast) {
      tsKept = true;
      kept.push('TDengine');
      blockers.push(`${line}: too ${tooBig && tooFast ? 'big and too fast' : tooBig ? 'big' : 'fast'} for PostgreSQL`);
    } else {
      reasons.push(`${line}: fits PostgreSQL`);
    }
    if (ingest === undefined) {
      risks.push(
        `The ingest rate of ${ts.name} was not measured: confirm it stays ≤ ${grouped(limits.tsdbMaxIngestRowsPerSecond)} rows/s before committing.`,
      );
    } else if (!tooFast && ingest > (limits.tsdbMaxIngestRowsPerSecond * limits.ingestHeadroomWarnPct) / 100) {
      risks.push(
        `Ingest of ${grouped(ingest)} rows/s is ${oneDecimal((ingest / limits.tsdbMaxIngestRowsPerSecond) * 100)} % of the ${grouped(limits.tsdbMaxIngestRowsPerSecond)} rows/s limit (headroom warning above ${limits.ingestHeadroomWarnPct} %).`,
      );
    }
    if (tsdb.growthBytesPerDay > 0) {
      risks.push(
        `TDengine grows ${bytes(tsdb.growthBytesPerDay)}/day (${bytes(tsdb.bytes)} today): size the target for it.`,
      );
    }
  }

  // --- Redis ---------------------------------------------------------------------------------------
  let redisStep: string | undefined;
  if (facts.redis) {
    const r = facts.redis;
    const { role, evidence } = redisRole(r, rules);
    const size = againstLimit(r.usedBytes, limits.redisMaxBytesAsTable, bytes, '');
    const small = r.usedBytes <= limits.redisMaxBytesAsTable;
    if (role === 'store' && !small) {
      kept.push('Redis');
      blockers.push(`Redis ${r.target} is a store (${evidence}) of ${size}: too big to become PostgreSQL tables`);
      redisStep = `Redis ${r.target} stays as it is (store of ${bytes(r.usedBytes)}); point the applications at it unchanged at cutover.`;
    } else if (role === 'store') {
      reasons.push(`Redis ${r.target} is a store (${evidence}) of ${size}: its data moves into PostgreSQL tables`);
      redisStep = `At cutover, Redis ${r.target}: freeze writes, copy its ${bytes(r.usedBytes)} into logged PostgreSQL tables (a store needs WAL durability), verify key counts, switch.`;
      risks.push(
        `Redis ${r.target} holds data of record (${evidence}): it must be copied and verified, not rebuilt; use logged tables, not UNLOGGED.`,
      );
    } else if (small) {
      reasons.push(
        `Redis ${r.target} is a cache (${evidence}) of ${size}: UNLOGGED tables and LISTEN/NOTIFY can replace it`,
      );
      redisStep = `At cutover, replace Redis ${r.target} (${bytes(r.usedBytes)} cache) by UNLOGGED tables (expiry column + periodic delete) and LISTEN/NOTIFY for pub/sub; it starts cold and warms up.`;
      risks.push(
        `UNLOGGED tables are emptied after a PostgreSQL crash: acceptable for the ${bytes(r.usedBytes)} of cache data in Redis ${r.target} only.`,
      );
    } else {
      reasons.push(`Redis ${r.target} is a cache (${evidence}) of ${size}: it stays a cache in front of PostgreSQL`);
      redisStep = `At cutover, flush Redis ${r.target} (${bytes(r.usedBytes)} cache) and let it warm from PostgreSQL.`;
    }
    if (role === 'cache' && r.hitRatePct !== undefined && r.hitRatePct < rules.redis.hitRateWarnPct) {
      risks.push(
        `Redis ${r.target} hit rate ${oneDecimal(r.hitRatePct)} % < ${rules.redis.hitRateWarnPct} %: the cache saves little today; measure PostgreSQL without it before keeping it.`,
      );
    }
  }

  // --- MySQL ---------------------------------------------------------------------------------------
  const my = engineVolume(facts.volumes, 'mysql');
  let mysqlKept = false;
  if (facts.mysql) {
    const m = facts.mysql;
    const features: Array<[string, number]> = [
      ['FULLTEXT on MyISAM', m.fullTextOnMyIsam],
      ['SPATIAL', m.spatialIndexes],
    ];
    const blocking: readonly string[] = limits.mysqlFeaturesBlocking;
    const found = features.filter(([name, n]) => n > 0 && blocking.includes(name));
    const featureText = features.map(([name, n]) => `${grouped(n)} ${name}`).join(', ');
    if (found.length > 0) {
      mysqlKept = true;
      kept.push('MySQL');
      blockers.push(
        `MySQL ${m.target} uses ${found.map(([name, n]) => `${grouped(n)} ${name}`).join(', ')} (blocking features per rules): those tables stay in MySQL`,
      );
    } else {
      reasons.push(
        `MySQL ${m.target}: ${bytes(my.bytes)}, ${count(my.rows)} rows in ${grouped(my.tables)} tables, no blocking feature (${featureText})`,
      );
    }
    if (m.nonInnoDbTables > 0) {
      risks.push(
        `${grouped(m.nonInnoDbTables)} non-InnoDB tables in MySQL ${m.target}: no transactions there today; check the application's assumptions after the move.`,
      );
    }
    const innoDbFullText = m.fullTextIndexes - m.fullTextOnMyIsam;
    if (innoDbFullText > 0) {
      risks.push(
        `${grouped(innoDbFullText)} FULLTEXT indexes become tsvector + GIN: ranking and stop words differ from MySQL.`,
      );
    }
    if (m.triggers + m.routines > 0) {
      risks.push(
        `${grouped(m.triggers)} triggers and ${grouped(m.routines)} routines in MySQL ${m.target} must be rewritten in PL/pgSQL and retested.`,
      );
    }
  } else if (my.targets.length > 0) {
    reasons.push(
      `MySQL ${my.targets.join(', ')}: ${bytes(my.bytes)}, ${count(my.rows)} rows in ${grouped(my.tables)} tables (features not inspected)`,
    );
    risks.push(
      'MySQL features (non-InnoDB tables, FULLTEXT, SPATIAL, triggers, routines) were not inspected: 0 known.',
    );
  }

  // --- PostgreSQL ----------------------------------------------------------------------------------
  const pgVolume = engineVolume(facts.volumes, 'postgres');
  const pg = facts.postgres;
  const pgName = pg?.target ?? 'the target PostgreSQL';
  const timescale = pg?.timescaledbAvailable === true;
  if (pg) {
    const health = pg.health
      ? `health ${pg.health.score}/100 (${pg.health.band}), coverage ${Math.round(pg.health.coverage * 100)} %`
      : 'health not scored';
    reasons.push(
      `PostgreSQL ${pg.target}: ${pg.up ? 'up' : 'DOWN'}, ${health}, holds ${bytes(pgVolume.bytes)} today; timescaledb ${timescale ? 'available' : 'not available'}`,
    );
    const capped = pg.health?.cappedBy?.length ?? 0;
    if (!pg.up || capped > 0 || (pg.health && pg.health.band === 'poor')) {
      order.push(
        `Fix PostgreSQL ${pg.target} first (${pg.up ? '' : 'down; '}${pg.health ? `${pg.health.score}/100, ${capped} capping finding${capped === 1 ? '' : 's'}` : 'no score'}): nothing moves onto an unhealthy target.`,
      );
      risks.push(
        `PostgreSQL ${pg.target} is ${pg.up ? `at ${pg.health?.score ?? 0}/100 (${pg.health?.band ?? 'poor'})` : 'down'}: consolidating more load onto it before it is fixed would make things worse.`,
      );
    }
  } else {
    reasons.push(`No PostgreSQL was assessed (0 targets): timescaledb availability unknown, planned as not available`);
  }

  // --- Time-series layout and queries (only when the time series moves) ------------------------------
  if (ts && !tsKept) {
    if (timescale) {
      reasons.push(`${count(ts.rows)} rows of ${ts.name} go into a TimescaleDB hypertable (time chunks, compression)`);
    } else {
      reasons.push(
        `${count(ts.rows)} rows of ${ts.name} go into native monthly range partitions with a BRIN index on time (no timescaledb)`,
      );
      risks.push(
        `Without timescaledb there is no native compression: ${count(ts.rows)} rows will take several times TDengine's ${bytes(tsdb.bytes)} on disk.`,
      );
    }
  }
  if (ts && facts.queries && facts.queries.timeSeries > 0) {
    const q = facts.queries;
    const share = (q.timeRange / q.timeSeries) * 100;
    const text = `${grouped(q.timeRange)} of ${grouped(q.timeSeries)} time-series queries (${oneDecimal(share)} %) filter on a time range`;
    if (share >= limits.timeRangeQueryMinSharePct) {
      reasons.push(`${text} (≥ ${limits.timeRangeQueryMinSharePct} %): chunk/partition pruning serves them`);
    } else {
      reasons.push(`${text} (< ${limits.timeRangeQueryMinSharePct} %)`);
      if (!tsKept) {
        risks.push(
          `Only ${oneDecimal(share)} % of time-series queries filter on time (< ${limits.timeRangeQueryMinSharePct} %): pruning helps little; add (device, time) B-tree indexes and probe them.`,
        );
      }
    }
  }
  if (tsdb.estimated || my.estimated) {
    risks.push('Some row counts are statistics estimates, not exact counts: re-count before sizing the target.');
  }

  // --- Order -----------------------------------------------------------------------------------------
  const prepare = [`Prepare PostgreSQL ${pgName}: schemas, roles, backups verified`];
  if (ts && !tsKept) {
    prepare.push(
      timescale
        ? `CREATE EXTENSION timescaledb and a hypertable for ${ts.name}`
        : `monthly range partitions and a BRIN index on time for ${ts.name}`,
    );
  }
  order.push(`${prepare.join('; ')}.`);
  const sqlite = engineVolume(facts.volumes, 'sqlite');
  const referenceSources = [
    ...(my.targets.length > 0 || facts.mysql
      ? [
          `MySQL ${facts.mysql?.target ?? my.targets.join(', ')} (${grouped(my.tables)} tables, ${bytes(my.bytes)})${mysqlKept ? ' except the tables using blocking features' : ''}`,
        ]
      : []),
    ...(sqlite.targets.length > 0
      ? [`SQLite ${sqlite.targets.join(', ')} (${grouped(sqlite.tables)} tables, ${bytes(sqlite.bytes)})`]
      : []),
  ];
  if (referenceSources.length > 0) {
    order.push(`Reference data first: ${referenceSources.join(' and ')}; convert the schema, copy, verify row counts.`);
  }
  if (ts && !tsKept) {
    order.push(
      `History: backfill ${ts.name} up to a cut-off time (${count(ts.rows)} rows), oldest first, verifying counts per month.`,
    );
    order.push(
      `Time series last: catch up from the cut-off, then switch ingest (${ts.ingestRowsPerSecond === undefined ? 'rate not measured' : `${grouped(ts.ingestRowsPerSecond)} rows/s`}) to PostgreSQL.`,
    );
  } else if (ts) {
    order.push(
      `Time series: ${ts.name} stays in TDengine (${count(ts.rows)} rows); only its reference data moves to PostgreSQL.`,
    );
  }
  if (redisStep) order.push(redisStep);
  order.push('Cutover: switch the applications, keep the sources read-only until verified, then retire them.');

  // --- Decision --------------------------------------------------------------------------------------
  if (blockers.length > 0) {
    risks.push(
      `${kept.length + 1} databases to operate, back up and monitor; no joins or transactions across PostgreSQL and ${kept.join(', ')}.`,
    );
    return {
      id: 'B',
      title: `PostgreSQL + ${kept.join(' + ')}: keep what the rules say cannot move`,
      reasons: [...blockers, ...reasons],
      order,
      risks,
    };
  }
  return {
    id: 'A',
    title: `Consolidate into PostgreSQL${ts ? (timescale ? ' (time series in TimescaleDB)' : ' (time series in range partitions + BRIN)') : ''}`,
    reasons,
    order,
    risks,
  };
}
