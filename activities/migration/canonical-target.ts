/**
 * The target side of verification, computed where the data lives: PostgreSQL builds each row's canonical
 * text from the typed columns (the same framing as canonical-source.ts: fields joined by `,`, each
 * `<UTF-8 bytes>:<text>`, NULL as `N`) under pinned output settings, hashes it (`hashtextextended`, see
 * row-hash.ts) and sums the hashes itself, so no row travels back to Node. Also checks that every column has the type the plan chose.
 */
import type pg from 'pg';
import type { ColumnPlan, TablePlan } from '../../common/contracts/migration-plan';
import { qi, qualified } from '../postgres/identifiers';
import { isFramed } from './canonical-source';
import { RowHashSum } from './row-hash';

/** Output settings the canonical texts assume (set for the verifying transaction only). */
const CANONICAL_SETTINGS: Record<string, string> = {
  DateStyle: 'ISO, YMD',
  IntervalStyle: 'postgres',
  extra_float_digits: '3',
  bytea_output: 'hex',
  TimeZone: 'UTC',
};

/** The column's canonical text (unframed) as PostgreSQL spells it. */
function canonicalColumnSql(column: ColumnPlan): string {
  const c = qi(column.name);
  switch (column.kind) {
    case 'boolean':
      return `CASE WHEN ${c} THEN 't' WHEN NOT ${c} THEN 'f' END`;
    case 'numeric':
      return `trim_scale(${c})::text`;
    case 'bytea':
      return `encode(${c}, 'hex')`;
    default:
      return `${c}::text`;
  }
}

/**
 * The field of one column. Only text is framed, and its canonical text is the column itself (referenced
 * thrice at no cost); every other kind is computed once per row, so the query needs no subquery fence and
 * PostgreSQL may scan in parallel.
 */
function fieldSql(column: ColumnPlan): string {
  const text = canonicalColumnSql(column);
  return isFramed(column.kind)
    ? `CASE WHEN ${text} IS NULL THEN 'N' ELSE concat(octet_length(${text}), ':', ${text}) END`
    : `coalesce(${text}, 'N')`;
}

/** A row's canonical text; concat_ws builds it in one allocation (a chain of || copies it per field). */
function rowSql(columns: readonly ColumnPlan[]): string {
  return `concat_ws(',', ${columns.map(fieldSql).join(', ')})`;
}

/** The sum of the rows' hashes (`text` is a row's canonical text), as a decimal text. */
const HASH_SUM = (text: string) => `coalesce(sum(hashtextextended((${text}) COLLATE "C", 0)), 0)::text`;

/**
 * Runs `body` in a read-only transaction with the canonical output settings. On `signal` (a rollback) the
 * running query is cancelled from another connection: a full-table aggregate would otherwise run on.
 */
async function withCanonicalSession<T>(
  pool: pg.Pool,
  body: (client: pg.PoolClient) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const client = await pool.connect();
  const pid = (client as unknown as { processID: number }).processID;
  const cancel = () => void pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
  signal?.addEventListener('abort', cancel);
  try {
    if (signal?.aborted) throw signal.reason;
    await client.query('BEGIN READ ONLY');
    for (const [name, value] of Object.entries(CANONICAL_SETTINGS))
      await client.query(`SELECT set_config($1, $2, true)`, [name, value]);
    const result = await body(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw signal?.aborted ? signal.reason : err;
  } finally {
    signal?.removeEventListener('abort', cancel);
    client.release();
  }
}

/** The row count and checksum of a staging table, computed by PostgreSQL. */
export async function targetChecksum(
  pool: pg.Pool,
  schema: string,
  table: TablePlan,
  signal?: AbortSignal,
): Promise<RowHashSum> {
  return withCanonicalSession(
    pool,
    async (client) => {
      const { rows } = await client.query({
        text: `SELECT count(*)::text, ${HASH_SUM(rowSql(table.columns))} FROM ${qualified(schema, table.name)}`,
        rowMode: 'array',
      } as never);
      const [count, sum] = rows[0] as unknown as [string, string];
      return RowHashSum.fromSum(Number(count), sum);
    },
    signal,
  );
}

/** One checksum per column, of each column alone or of the rows without it (see ColumnCheck in source-thread.ts). */
export async function targetColumnChecksums(
  pool: pg.Pool,
  schema: string,
  table: TablePlan,
  mode: 'each' | 'without',
  signal?: AbortSignal,
): Promise<string[]> {
  return withCanonicalSession(
    pool,
    async (client) => {
      const indexes = table.columns.map((_, i) => i);
      const field = (i: number) => fieldSql(table.columns[i] as ColumnPlan);
      const text = (i: number) =>
        mode === 'each'
          ? field(i)
          : indexes
              .filter((j) => j !== i)
              .map(field)
              .join(" || ',' || ") || "''";
      const sums = indexes.map((i) => HASH_SUM(text(i)));
      const { rows } = await client.query({
        text: `SELECT count(*)::text, ${sums.join(', ')} FROM ${qualified(schema, table.name)}`,
        rowMode: 'array',
      } as never);
      const row = rows[0] as unknown as string[];
      const count = Number(row[0]);
      return table.columns.map((_, i) => RowHashSum.fromSum(count, row[1 + i] ?? '0').value);
    },
    signal,
  );
}

/** PostgreSQL's spelling of a plan's SQL type (`timestamptz` → `timestamp with time zone`…). */
function formatTypeName(sqlType: string): string {
  const t = sqlType.trim().toLowerCase();
  const varchar = /^varchar\((\d+)\)$/.exec(t);
  if (varchar) return `character varying(${varchar[1]})`;
  const aliases: Record<string, string> = { timestamptz: 'timestamp with time zone', float8: 'double precision' };
  return aliases[t] ?? t;
}

/** Columns whose type in the staging table is not the plan's (or that are missing), described. */
export async function columnTypeProblems(pool: pg.Pool, schema: string, table: TablePlan): Promise<string[]> {
  const { rows } = await pool.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`,
    [schema, table.name],
  );
  const actual = new Map(rows.map((r) => [r.name, r.type]));
  return table.columns.flatMap((column) => {
    const type = actual.get(column.name);
    const expected = formatTypeName(column.targetType);
    if (type === undefined) return [`column ${column.name} is missing`];
    return type === expected ? [] : [`column ${column.name} is ${type}, the plan says ${expected}`];
  });
}
