/**
 * The COPY text of a table's rows, spelled by SQLite itself: one SQL expression per column turns the stored
 * value into its COPY text-format field, in C, so JavaScript only moves the bytes. Only the values SQL cannot
 * spell exactly go through a registered JavaScript function (`copyField`): REALs that must keep their shortest
 * spelling (text and numeric columns), timestamps read in a named time zone or not in a plain ISO form, dates
 * with stray whitespace, and text stored into bytea in a UTF-16 database. Which those are follows from the
 * plan (each kind takes only the storage classes its profile allowed). Verification does not reuse any of
 * this: it rebuilds each value's canonical text on both sides (canonical-source.ts, canonical-target.ts).
 */
import type Database from 'better-sqlite3';
import type { ColumnPlan, TablePlan } from '../../common/contracts/migration-plan';
import { quoteIdent } from '../sqlite/identifiers';
import { copyField, type SqliteValue } from './values';

const NULL_FIELD = String.raw`'\N'`;
const DIGIT4 = '[0-9][0-9][0-9][0-9]';
const DIGIT2 = '[0-9][0-9]';
/** `YYYY-MM-DD`, and the naive forms with hours and minutes, seconds, and seconds with a fraction. */
const DATE_GLOB = `${DIGIT4}-${DIGIT2}-${DIGIT2}`;
const MINUTES_GLOB = `${DATE_GLOB}[ T]${DIGIT2}:${DIGIT2}`;
const SECONDS_GLOB = `${MINUTES_GLOB}:${DIGIT2}`;

/** SQL string literal. */
export function sqlText(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** COPY's text-format escapes (backslash, newline, carriage return, tab) applied by SQLite's replace(). */
function escaped(expr: string): string {
  return String.raw`replace(replace(replace(replace(${expr}, '\', '\\'), char(10), '\n'), char(13), '\r'), char(9), '\t')`;
}

/** The per-value JavaScript fallback for one column (the column name makes its errors say where). */
function viaJs(column: ColumnPlan, q: string): string {
  return `dbops_copy_field(${sqlText(column.kind)}, ${q}, ${column.timeZone ? sqlText(column.timeZone) : 'NULL'}, ${sqlText(column.name)})`;
}

/**
 * The COPY field of one column, NULL as `\N`. `utf8`: the database's text encoding is UTF-8. `plain`: no
 * value to encode holds a character COPY escapes (the encoder checked their bytes), so texts go as they are.
 */
function copyFieldSql(column: ColumnPlan, utf8: boolean, plain = false): string {
  const q = quoteIdent(column.name);
  switch (column.kind) {
    case 'bigint':
      return `ifnull(CAST(${q} AS TEXT), ${NULL_FIELD})`;
    case 'double':
      // 17 significant digits read back as the same double (PostgreSQL's float8 input rounds correctly);
      // printf drops the sign of -0.0, so zeros are spelled in JS.
      return `CASE typeof(${q}) WHEN 'null' THEN ${NULL_FIELD} WHEN 'real' THEN (CASE WHEN ${q} = 0 THEN ${viaJs(column, q)} ELSE printf('%!.17g', ${q}) END) ELSE CAST(${q} AS TEXT) END`;
    case 'numeric':
      // numeric is exact decimal: a REAL must arrive as its shortest spelling (0.1, not 0.10000000000000001).
      return `CASE typeof(${q}) WHEN 'null' THEN ${NULL_FIELD} WHEN 'real' THEN ${viaJs(column, q)} ELSE CAST(${q} AS TEXT) END`;
    case 'boolean':
      return `CASE WHEN ${q} IS NULL THEN ${NULL_FIELD} WHEN typeof(${q}) = 'text' THEN (CASE WHEN lower(trim(${q})) IN ('t', 'true') THEN 't' ELSE 'f' END) WHEN ${q} <> 0 THEN 't' ELSE 'f' END`;
    case 'text': {
      const text = (expr: string) => (plain ? expr : escaped(expr));
      if (column.reals === false) return `ifnull(${text(q)}, ${NULL_FIELD})`;
      return `CASE typeof(${q}) WHEN 'null' THEN ${NULL_FIELD} WHEN 'real' THEN ${viaJs(column, q)} ELSE ${text(`CAST(${q} AS TEXT)`)} END`;
    }
    case 'jsonb':
      return `ifnull(${plain ? q : escaped(q)}, ${NULL_FIELD})`;
    case 'timestamptz':
      if (column.timeZone) return `CASE WHEN ${q} IS NULL THEN ${NULL_FIELD} ELSE ${viaJs(column, q)} END`;
      // Plain ISO forms go as they are, naive ones pinned to UTC; PostgreSQL parses them (verify checks the instant).
      return `CASE WHEN ${q} IS NULL THEN ${NULL_FIELD}
        WHEN ${q} GLOB '${SECONDS_GLOB}' OR ${q} GLOB '${MINUTES_GLOB}' THEN ${q} || '+00'
        WHEN ${q} GLOB '${DATE_GLOB}' THEN ${q} || ' 00:00:00+00'
        WHEN ${q} GLOB '${SECONDS_GLOB}.[0-9]*' AND length(${q}) <= 26 AND NOT substr(${q}, 21) GLOB '*[^0-9]*' THEN ${q} || '+00'
        ELSE ${viaJs(column, q)} END`;
    case 'date':
      return `CASE WHEN ${q} IS NULL THEN ${NULL_FIELD} WHEN ${q} GLOB '${DATE_GLOB}' THEN ${q} ELSE ${viaJs(column, q)} END`;
    case 'bytea':
      // hex() reads text as its bytes in the database encoding: UTF-8 is what bytea must get.
      return utf8
        ? String.raw`CASE WHEN ${q} IS NULL THEN ${NULL_FIELD} ELSE '\\x' || hex(${q}) END`
        : String.raw`CASE typeof(${q}) WHEN 'null' THEN ${NULL_FIELD} WHEN 'text' THEN ${viaJs(column, q)} ELSE '\\x' || hex(${q}) END`;
  }
}

/**
 * Fault injection for the verification tests: with `DBOPS_FAULT_ENCODE=<kind>` in the worker's environment
 * (read when an import starts, and carried with the job to its thread) the encoder spells every non-NULL value of that kind subtly wrong, the way an encoder bug would (a lost
 * digit, an off-by-one, a shifted instant, an extra byte), and verification must fail naming the column.
 * Never set it in production.
 */
function faultyFieldSql(column: ColumnPlan, utf8: boolean): string {
  const q = quoteIdent(column.name);
  const field = copyFieldSql(column, utf8);
  const wrong: Record<ColumnPlan['kind'], string> = {
    bigint: `CAST(${q} + (CASE WHEN ${q} > 0 THEN -1 ELSE 1 END) AS TEXT)`,
    double: `printf('%.15g', ${q})`,
    numeric: `${field} || '9'`,
    boolean: `(CASE ${field} WHEN 't' THEN 'f' ELSE 't' END)`,
    text: `${field} || ' '`,
    jsonb: `'[' || ${field} || ']'`,
    timestamptz: `datetime(${q}, '+1 second') || '+00'`,
    date: `date(${q}, '+1 day')`,
    bytea: `${field} || '00'`,
  };
  return `CASE WHEN ${q} IS NULL THEN ${NULL_FIELD} ELSE ${wrong[column.kind]} END`;
}

/**
 * One row's COPY line, with its newline; `plain` names the text columns that need no escaping, `fault` the
 * kind to spell wrong on purpose (see faultyFieldSql).
 */
export function copyLineSql(
  table: TablePlan,
  utf8: boolean,
  plain: ReadonlySet<string> = new Set(),
  fault?: string,
): string {
  const field = (c: ColumnPlan) =>
    c.kind === fault ? faultyFieldSql(c, utf8) : copyFieldSql(c, utf8, plain.has(c.name));
  // concat builds the line in one allocation (a chain of || would copy it once per field).
  return `concat(${table.columns.map(field).join(', char(9), ')}, char(10))`;
}

/** The columns whose values COPY may have to escape (text and jsonb). */
export function textColumns(table: TablePlan): string[] {
  return table.columns.filter((c) => c.kind === 'text' || c.kind === 'jsonb').map((c) => c.name);
}

/** Whether some bytes hold a character COPY's text format escapes: backslash, tab, newline, carriage return. */
export function holdsCopyEscapes(bytes: Buffer | null): boolean {
  return bytes !== null && (bytes.includes(92) || bytes.includes(9) || bytes.includes(10) || bytes.includes(13));
}

/** A value its column's kind cannot take (bad input: it fails the same way every time). */
export class ValueProblem extends Error {}

/** Registers `dbops_copy_field(kind, value, zone, column)`, the per-value fallback, on a connection. */
export function registerCopyFunctions(db: Database.Database): void {
  db.function(
    'dbops_copy_field',
    { deterministic: true, safeIntegers: true },
    (kind: unknown, value: unknown, zone: unknown, column: unknown) => {
      try {
        return copyField(kind as ColumnPlan['kind'], value as SqliteValue, (zone as string | null) ?? undefined);
      } catch (err) {
        throw new ValueProblem(`column ${String(column)}: ${(err as Error).message}`);
      }
    },
  );
}
