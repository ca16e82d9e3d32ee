/**
 * The time-series proof of concept of the assessment: can this PostgreSQL carry a TDengine supertable? It recreates
 * the supertable's shape (columns plus tags, one tag set per device, as TDengine's child tables), loads synthetic
 * rows with `INSERT … SELECT generate_series` and times the load and three typical time-range probes.
 *
 * It writes exactly one thing: a scratch schema `dbops_poc_<8 hex>` (commented `dbops POC scratch`) that holds the
 * table, its partitions and indexes, and that is dropped with CASCADE in every outcome — success, failure, abort.
 * It never installs an extension in a database it assesses: TimescaleDB is used only when it is already installed
 * there; otherwise the table is partitioned natively by day (RANGE), with a BRIN index on the time column and a
 * btree on (device, time).
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { percentiles } from '../../common/assessment/percentiles';
import { DbopsError, ErrorCode } from '../../common/errors';
import { fitName, qi, ql, qualified } from './identifiers';
import { type PgEndpoint, withClient } from './restore';

/** The shape of one TDengine supertable: columns (the first TIMESTAMP is the time column) and tags. */
export interface PocShape {
  name: string;
  /** TDengine types: TIMESTAMP, INT, BIGINT, FLOAT, DOUBLE, BOOL, BINARY(n)/VARCHAR(n), NCHAR(n), TINYINT, … */
  columns: { name: string; type: string }[];
  tags: { name: string; type: string }[];
}

/** What the POC measured. Times in seconds (load) and milliseconds (probes). */
export interface PocResult {
  /** The scratch schema it used (already dropped when this is returned). */
  schema: string;
  strategy: 'timescaledb' | 'native-partitions';
  /** The table, schema-qualified and quoted as in the probes' SQL. */
  table: string;
  /** Rows in the table after the load (counted). */
  rows: number;
  insertSeconds: number;
  insertRowsPerSecond: number;
  queries: { name: string; sql: string; p50Ms: number; p95Ms: number; p99Ms: number; rows: number }[];
  /** Day partitions (native) or chunks (TimescaleDB). */
  partitions?: number;
  notes: string[];
}

/** The comment the scratch schema carries: the only sign that a schema is the POC's own to drop. */
const SCRATCH_COMMENT = 'dbops POC scratch';
/** Rows per `INSERT … SELECT`: short statements, so an abort is seen between them and a cancel ends little work. */
const BATCH_ROWS = 50_000;
const DAY_MS = 86_400_000;
const DEFAULT_DAYS = 7;
const DEFAULT_DEVICES = 100;
const MAX_DAYS = 366;

/** A PostgreSQL column type for a TDengine type, and whether the mapping had to guess. */
export interface PgTypeMapping {
  pg: string;
  /** True when the TDengine type was not recognised and became `text`. */
  unknown: boolean;
}

/**
 * The PostgreSQL type for a TDengine column or tag type (`VARCHAR(24)`, `TIMESTAMP`, `INT UNSIGNED`…):
 * TIMESTAMP→timestamptz, BINARY/VARCHAR/NCHAR(n)→varchar(n), FLOAT→real, DOUBLE→double precision, BOOL→boolean,
 * TINYINT/SMALLINT→smallint, INT→integer, BIGINT→bigint, JSON→jsonb, VARBINARY→bytea, DECIMAL(p,s)→numeric(p,s);
 * unsigned types get the next wider signed type (BIGINT UNSIGNED→numeric(20)); anything else→text.
 */
export function pgTypeForTdengine(tdType: string): PgTypeMapping {
  const t = tdType.trim().toUpperCase().replace(/\s+/g, ' ');
  const m = /^([A-Z_]+(?: UNSIGNED)?)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$/.exec(t);
  const base = m?.[1] ?? t;
  const length = m?.[2] === undefined ? undefined : Number(m[2]);
  const scale = m?.[3] === undefined ? undefined : Number(m[3]);
  const varchar = length !== undefined && length > 0 ? `varchar(${Math.min(length, 10_485_760)})` : 'text';
  const known: Record<string, string> = {
    TIMESTAMP: 'timestamptz',
    BINARY: varchar,
    VARCHAR: varchar,
    NCHAR: varchar,
    FLOAT: 'real',
    DOUBLE: 'double precision',
    BOOL: 'boolean',
    TINYINT: 'smallint',
    SMALLINT: 'smallint',
    INT: 'integer',
    INTEGER: 'integer',
    BIGINT: 'bigint',
    'TINYINT UNSIGNED': 'smallint',
    'SMALLINT UNSIGNED': 'integer',
    'INT UNSIGNED': 'bigint',
    'BIGINT UNSIGNED': 'numeric(20)',
    JSON: 'jsonb',
    VARBINARY: 'bytea',
    DECIMAL: length !== undefined && length >= 1 && length <= 1000 ? `numeric(${length},${scale ?? 0})` : 'numeric',
  };
  const pgType = known[base];
  return pgType === undefined ? { pg: 'text', unknown: true } : { pg: pgType, unknown: false };
}

/** One column of the POC table: its name, PostgreSQL type and the SQL that makes a synthetic value for it. */
interface PocColumn {
  name: string;
  pg: string;
  value: string;
}

/** The POC table's design, derived from the shape: the time column, the device column, every column's value. */
interface PocDesign {
  time: string;
  device: string;
  /** The device column's value for device 0, as an SQL literal of its type. */
  deviceZero: string;
  /** A numeric column to aggregate in the day probe, if the shape has one. */
  metric?: string;
  columns: PocColumn[];
  notes: string[];
}

// Names the load's generator subquery gives its values; chosen so that no shape column is referenced by mistake.
const G_I = 'dbops_g_i';
const G_D = 'dbops_g_d';
const G_TS = 'dbops_g_ts';

/** A synthetic measurement value of a PostgreSQL type (random per row). */
function metricValue(pgType: string): string {
  if (pgType === 'timestamptz') return G_TS;
  if (pgType === 'real' || pgType === 'double precision') return `(random() * 100)::${pgType}`;
  if (pgType === 'smallint') return `(random() * 100)::smallint`;
  if (pgType === 'integer') return `(random() * 1000)::integer`;
  if (pgType === 'bigint') return `(random() * 1000000)::bigint`;
  if (pgType === 'numeric(20)' || pgType === 'numeric') return `trunc(random() * 1000000)`;
  const decimal = /^numeric\((\d+),(\d+)\)$/.exec(pgType);
  if (decimal) return `trunc(random()::numeric, ${decimal[2]})::${pgType}`;
  if (pgType === 'boolean') return `(random() < 0.5)`;
  if (pgType === 'jsonb') return `jsonb_build_object('v', ${G_I})`;
  if (pgType === 'bytea') return `decode(md5(${G_I}::text), 'hex')`;
  const varchar = /^varchar\((\d+)\)$/.exec(pgType);
  if (varchar) return `left(md5(${G_I}::text), ${varchar[1]})`;
  return `md5(${G_I}::text)`;
}

/** A tag value of a PostgreSQL type for device `d`: the same for every row of a device, distinct per device. */
function tagValue(pgType: string): string {
  if (pgType === 'timestamptz') return `(timestamptz '2000-01-01T00:00:00Z' + ${G_D} * interval '1 second')`;
  if (pgType === 'real' || pgType === 'double precision') return `${G_D}::${pgType}`;
  if (pgType === 'smallint') return `(${G_D} % 32768)::smallint`;
  if (pgType === 'integer' || pgType === 'bigint') return `${G_D}::${pgType}`;
  if (pgType === 'numeric(20)' || pgType === 'numeric') return `${G_D}::numeric`;
  const decimal = /^numeric\((\d+),(\d+)\)$/.exec(pgType);
  if (decimal) {
    const digits = Number(decimal[1]) - Number(decimal[2]);
    return digits > 0 ? `(${G_D} % ${10 ** Math.min(digits, 15)})::${pgType}` : `0::${pgType}`;
  }
  if (pgType === 'boolean') return `(${G_D} % 2 = 0)`;
  if (pgType === 'jsonb') return `jsonb_build_object('device', ${G_D})`;
  if (pgType === 'bytea') return `decode(md5(${G_D}::text), 'hex')`;
  // The digits last, so that a short varchar still tells devices apart.
  const varchar = /^varchar\((\d+)\)$/.exec(pgType);
  if (varchar) return `right('dev-' || ${G_D}, ${varchar[1]})`;
  return `('dev-' || ${G_D})`;
}

/** The value device 0 has in a device column of this type (see `tagValue`), as an SQL literal. */
function deviceZeroLiteral(pgType: string): string {
  if (pgType === 'smallint' || pgType === 'integer' || pgType === 'bigint') return '0';
  const varchar = /^varchar\((\d+)\)$/.exec(pgType);
  return ql(varchar ? 'dev-0'.slice(-Number(varchar[1])) : 'dev-0');
}

/** Types that can tell devices apart (and that a btree orders cheaply): the candidates for the device column. */
const DEVICE_TYPE = /^(smallint|integer|bigint|text|varchar\(\d+\))$/;

/** The table's columns from the shape: time column first, then the other columns, then the tags. */
function designTable(shape: PocShape, devices: number): PocDesign {
  const notes: string[] = [];
  const seen = new Set<string>();
  const columns: PocColumn[] = [];
  const add = (name: string, pgType: string, value: string): void => {
    seen.add(name);
    columns.push({ name, pg: pgType, value });
  };
  const unknownTypes: string[] = [];
  const mapped = (name: string, type: string): string => {
    const m = pgTypeForTdengine(type);
    if (m.unknown) unknownTypes.push(`${name} ${type}`);
    return m.pg;
  };

  const timeSource = shape.columns.find((c) => pgTypeForTdengine(c.type).pg === 'timestamptz');
  const time = timeSource?.name ?? 'ts';
  if (!timeSource) notes.push(`the shape has no TIMESTAMP column: a time column "${time}" was added`);
  add(time, 'timestamptz', G_TS);

  let metric: string | undefined;
  for (const c of shape.columns) {
    if (c === timeSource || seen.has(c.name)) continue;
    const pgType = mapped(c.name, c.type);
    if (metric === undefined && /^(real|double precision|smallint|integer|bigint|numeric.*)$/.test(pgType)) {
      metric = c.name;
    }
    add(c.name, pgType, metricValue(pgType));
  }

  let device: string | undefined;
  let deviceType = 'integer';
  for (const t of shape.tags) {
    if (seen.has(t.name)) continue;
    const pgType = mapped(t.name, t.type);
    if (device === undefined && DEVICE_TYPE.test(pgType)) {
      device = t.name;
      deviceType = pgType;
    }
    add(t.name, pgType, tagValue(pgType));
  }
  if (device === undefined) {
    device = 'dbops_device';
    notes.push('no integer or string tag to tell devices apart: a column "dbops_device integer" was added');
    add(device, 'integer', `${G_D}::integer`);
  } else if (deviceType === 'smallint' && devices > 32_768) {
    notes.push(`device tag "${device}" is smallint: ${devices} devices wrap around at 32768`);
  }
  if (unknownTypes.length > 0)
    notes.push(`types without a PostgreSQL equivalent became text: ${unknownTypes.join(', ')}`);
  return {
    time,
    device,
    deviceZero: deviceZeroLiteral(deviceType),
    ...(metric === undefined ? {} : { metric }),
    columns,
    notes,
  };
}

/** `YYYYMMDD` of a UTC instant. */
function dayStamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');
}

/** A timestamptz literal of a UTC instant. */
function tsLiteral(ms: number): string {
  return `${ql(new Date(ms).toISOString())}::timestamptz`;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function positiveInt(value: number | undefined, fallback: number, what: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1 || v > max) {
    throw new DbopsError(ErrorCode.BadInput, `POC ${what} must be a whole number from 1 to ${max}, not ${String(v)}`);
  }
  return v;
}

/**
 * Recreates `shape` in a scratch schema on `endpoint`, loads `options.rows` synthetic rows over `days` days
 * (default 7) for `devices` devices (default 100), and times three probes `runs` times each: the last hour of one
 * device, one day aggregated per device and hour, and a count of the whole range. Returns the strategy, load rate
 * and probe percentiles (nearest rank, ms). The scratch schema is dropped before this returns or throws.
 *
 * An abort of `options.signal` cancels the running statement, drops the schema and rejects with the abort reason.
 * Throws BadInput for options out of range, and for a user who may not create a schema in the database.
 */
export async function runTimeSeriesPoc(
  endpoint: { url: string; password?: string; label: string },
  shape: PocShape,
  options: { rows: number; runs: number; days?: number; devices?: number; signal?: AbortSignal },
): Promise<PocResult> {
  const rows = positiveInt(options.rows, 0, 'rows');
  const runs = positiveInt(options.runs, 0, 'runs', 10_000);
  const days = positiveInt(options.days, DEFAULT_DAYS, 'days', MAX_DAYS);
  const devices = positiveInt(options.devices, DEFAULT_DEVICES, 'devices', 1_000_000);
  const { signal } = options;
  signal?.throwIfAborted();

  const schema = `dbops_poc_${randomBytes(4).toString('hex')}`;
  const design = designTable(shape, devices);
  const tableName = fitName(shape.name.trim() === '' ? 'poc' : shape.name);
  const table = qualified(schema, tableName);

  return withClient(endpoint, async (client) => {
    const pid = Number((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid);
    // An abort cancels the running statement from a second session (ending the socket would leave the statement
    // running, holding its locks against the DROP SCHEMA); the loop below stops at its next check.
    let cancelling: Promise<unknown> | undefined;
    const onAbort = (): void => {
      cancelling = withClient(endpoint, (c) => c.query('SELECT pg_cancel_backend($1)', [pid])).catch(() => undefined);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let created = false;
    let failure: unknown;
    try {
      signal?.throwIfAborted(); // a listener added to an already aborted signal never fires
      try {
        // One simple query: schema and comment commit together, so a schema without the comment is never ours.
        await client.query(`CREATE SCHEMA ${qi(schema)}; COMMENT ON SCHEMA ${qi(schema)} IS ${ql(SCRATCH_COMMENT)}`);
        created = true;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === '42501') {
          throw new DbopsError(
            ErrorCode.BadInput,
            `${endpoint.label}: the user may not create a schema in this database (${(err as Error).message}); ` +
              `grant CREATE on the database, or run the POC on a scratch database of the same server`,
            { cause: err },
          );
        }
        if (code === undefined) created = true; // outcome unknown: the guarded drop below decides by the comment
        throw err;
      }
      return await measure(client, { schema, tableName, table, design, rows, runs, days, devices, signal });
    } catch (err) {
      failure = signal?.aborted ? signal.reason : err;
      throw failure;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await cancelling; // a cancel must land before the DROP, not on it
      if (created) {
        const dropped = await dropScratch(client, endpoint, schema);
        if (dropped !== undefined) {
          const leftover = `scratch schema ${schema} could not be dropped (${dropped}): run DROP SCHEMA ${qi(schema)} CASCADE`;
          if (failure === undefined) throw new DbopsError(ErrorCode.BadInput, `${endpoint.label}: ${leftover}`);
          try {
            if (failure instanceof Error) failure.message += `; ${leftover}`;
          } catch {
            // a read-only message (DOMException): the failure itself is what the caller must see
          }
        }
      }
    }
  });
}

/**
 * Drops the scratch schema: on the POC's own session, else (that session is gone) on a fresh one, there only when
 * the schema carries the scratch comment. Returns undefined when it is gone, else why not.
 */
async function dropScratch(client: pg.Client, endpoint: PgEndpoint, schema: string): Promise<string | undefined> {
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${qi(schema)} CASCADE`);
    return undefined;
  } catch {
    // The session may be broken (a dropped connection): try once more on a new one.
  }
  try {
    await withClient(endpoint, async (c) => {
      const { rows } = await c.query<{ comment: string | null }>(
        `SELECT obj_description(oid, 'pg_namespace') AS comment FROM pg_namespace WHERE nspname = $1`,
        [schema],
      );
      if (rows[0]?.comment === SCRATCH_COMMENT) await c.query(`DROP SCHEMA ${qi(schema)} CASCADE`);
    });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

interface MeasureInput {
  schema: string;
  tableName: string;
  table: string;
  design: PocDesign;
  rows: number;
  runs: number;
  days: number;
  devices: number;
  signal?: AbortSignal;
}

/** Creates the table in the (existing) scratch schema, loads it and runs the probes. */
async function measure(client: pg.Client, input: MeasureInput): Promise<PocResult> {
  const { schema, tableName, table, design, rows, runs, days, devices, signal } = input;
  const notes = [...design.notes];
  const time = qi(design.time);
  const device = qi(design.device);
  const columnsSql = design.columns
    .map((c) => `${qi(c.name)} ${c.pg}${c.name === design.time ? ' NOT NULL' : ''}`)
    .join(', ');

  // Whole UTC days ending with today: the data lies in [start, end), one partition per day.
  const end = Math.floor(Date.now() / DAY_MS) * DAY_MS + DAY_MS;
  const start = end - days * DAY_MS;

  const installed = await client.query<{ extversion: string }>(
    `SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'`,
  );
  let strategy: PocResult['strategy'] = 'native-partitions';
  let partitions: number | undefined;
  const tsVersion = installed.rows[0]?.extversion;
  if (tsVersion !== undefined) {
    try {
      await client.query(`CREATE TABLE ${table} (${columnsSql})`);
      await client.query(
        `SELECT create_hypertable($1::regclass, $2::name, chunk_time_interval => interval '1 day',
                                  associated_schema_name => $3::name)`,
        [table, design.time, schema],
      );
      await client.query(`CREATE INDEX ON ${table} (${device}, ${time})`);
      strategy = 'timescaledb';
      notes.push(
        `TimescaleDB ${tsVersion} is installed in this database: hypertable with 1-day chunks in the scratch schema, ` +
          `index on (${design.device}, ${design.time})`,
      );
    } catch (err) {
      signal?.throwIfAborted();
      notes.push(`TimescaleDB ${tsVersion} is installed but a hypertable failed (${(err as Error).message})`);
      await client.query(`DROP TABLE IF EXISTS ${table} CASCADE`);
    }
  } else {
    const available = await client.query<{ default_version: string }>(
      `SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'`,
    );
    const version = available.rows[0]?.default_version;
    notes.push(
      version === undefined
        ? 'TimescaleDB is not available on this server: native declarative partitioning'
        : `TimescaleDB ${version} is available on the server but not installed in this database; the POC does not ` +
            `install extensions in an assessed database: native declarative partitioning`,
    );
  }
  signal?.throwIfAborted();

  if (strategy === 'native-partitions') {
    await client.query(`CREATE TABLE ${table} (${columnsSql}) PARTITION BY RANGE (${time})`);
    for (let day = 0; day < days; day += 1) {
      signal?.throwIfAborted();
      const from = start + day * DAY_MS;
      await client.query(
        `CREATE TABLE ${qualified(schema, fitName(`${tableName}_p${dayStamp(from)}`))} PARTITION OF ${table}
           FOR VALUES FROM (${tsLiteral(from)}) TO (${tsLiteral(from + DAY_MS)})`,
      );
    }
    await client.query(`CREATE INDEX ON ${table} USING brin (${time})`);
    await client.query(`CREATE INDEX ON ${table} (${device}, ${time})`);
    notes.push(
      `RANGE partitioned by day on ${design.time} (${days} partitions), BRIN on (${design.time}), ` +
        `btree on (${design.device}, ${design.time})`,
    );
  }

  // Load: each device gets ceil(rows / devices) evenly spaced points over the range; row i is device i % devices.
  const perDevice = Math.ceil(rows / devices);
  const stepUs = Math.max(1, Math.floor((days * DAY_MS * 1000) / perDevice));
  const columnList = design.columns.map((c) => qi(c.name)).join(', ');
  const values = design.columns.map((c) => c.value).join(', ');
  let insertMs = 0;
  for (let lo = 0; lo < rows; lo += BATCH_ROWS) {
    signal?.throwIfAborted();
    const hi = Math.min(rows, lo + BATCH_ROWS) - 1;
    const sql =
      `INSERT INTO ${table} (${columnList}) SELECT ${values} FROM (SELECT ${G_I}, ${G_I} % ${devices} AS ${G_D}, ` +
      `${tsLiteral(start)} + (${G_I} / ${devices}) * ${stepUs} * interval '1 microsecond' AS ${G_TS} ` +
      `FROM generate_series(${lo}::bigint, ${hi}::bigint) AS g(${G_I})) AS s`;
    const t0 = process.hrtime.bigint();
    await client.query(sql);
    insertMs += Number(process.hrtime.bigint() - t0) / 1e6;
  }
  signal?.throwIfAborted();
  await client.query(`ANALYZE ${table}`);

  if (strategy === 'native-partitions') {
    const r = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_inherits WHERE inhparent = $1::regclass`,
      [table],
    );
    partitions = Number(r.rows[0]?.n ?? 0);
  } else {
    const r = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM timescaledb_information.chunks WHERE hypertable_schema = $1 AND hypertable_name = $2`,
      [schema, tableName],
    );
    partitions = Number(r.rows[0]?.n ?? 0);
  }

  const lastHour = end - 3_600_000;
  const lastDay = end - DAY_MS;
  const metric = design.metric === undefined ? undefined : qi(design.metric);
  const aggregates =
    metric === undefined ? 'count(*) AS n' : `count(*) AS n, avg(${metric}) AS avg, max(${metric}) AS max`;
  const probes: { name: string; sql: string }[] = [
    {
      name: 'last_hour_one_device',
      sql:
        `SELECT * FROM ${table} WHERE ${device} = ${design.deviceZero} ` +
        `AND ${time} >= ${tsLiteral(lastHour)} AND ${time} < ${tsLiteral(end)} ORDER BY ${time}`,
    },
    {
      name: 'day_hourly_by_device',
      sql:
        `SELECT ${device}, date_trunc('hour', ${time}) AS bucket, ${aggregates} FROM ${table} ` +
        `WHERE ${time} >= ${tsLiteral(lastDay)} AND ${time} < ${tsLiteral(end)} GROUP BY 1, 2 ORDER BY 1, 2`,
    },
    { name: 'full_range_count', sql: `SELECT count(*) AS n FROM ${table}` },
  ];
  const queries: PocResult['queries'] = [];
  let counted = 0;
  for (const probe of probes) {
    const durations: number[] = [];
    let resultRows = 0;
    for (let run = 0; run < runs; run += 1) {
      signal?.throwIfAborted();
      const t0 = process.hrtime.bigint();
      const result = await client.query<Record<string, unknown>>(probe.sql);
      durations.push(round(Number(process.hrtime.bigint() - t0) / 1e6, 3));
      resultRows = result.rows.length;
      if (probe.name === 'full_range_count') counted = Number(result.rows[0]?.['n'] ?? 0);
    }
    const p = percentiles(durations);
    queries.push({ name: probe.name, sql: probe.sql, p50Ms: p.p50, p95Ms: p.p95, p99Ms: p.p99, rows: resultRows });
  }
  notes.push(
    `${rows} synthetic rows for ${devices} devices over ${days} days, loaded in batches of ${BATCH_ROWS} ` +
      `with the indexes in place; probes run ${runs} times each right after ANALYZE`,
  );

  const insertSeconds = round(insertMs / 1000, 3);
  return {
    schema,
    strategy,
    table,
    rows: counted,
    insertSeconds,
    insertRowsPerSecond: insertMs > 0 ? Math.round(rows / (insertMs / 1000)) : 0,
    queries,
    partitions,
    notes,
  };
}
