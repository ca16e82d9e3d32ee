/**
 * The source side of verification: each row's canonical text built by SQLite from the stored values — the
 * text PostgreSQL prints for the same value under pinned session settings (canonical-target.ts) — so equal
 * data hashes equal whatever the spelling of the source (`1e2` vs `100` in JSON, `T` vs space in a
 * timestamp). Written apart from the COPY encoder (copy-sql.ts, values.ts) on purpose: a fault in the encoder
 * is then a difference here, not the same mistake twice.
 *
 * A row is its fields joined by `,`, NULL as `N`. Text fields are framed `<UTF-8 bytes>:<text>` (they may
 * hold commas); a JSON document ends where its grammar says, and the other kinds print no comma and nothing
 * that reads as `N`, so they go as they are: field boundaries and NULL versus '' cannot be confused. SQL spells what it can; the values it cannot
 * (doubles in PostgreSQL's shortest form, jsonb's key order and number spelling, timestamps with offsets or
 * in a named zone, REALs in text and numeric columns) go through `dbops_canon`, which returns the field.
 */
import type Database from 'better-sqlite3';
import type { ColumnPlan, TargetKind } from '../../common/contracts/migration-plan';
import { parseTimestamp } from '../sqlite/timestamps';
import { quoteIdent } from '../sqlite/identifiers';
import { pgFloat8Text, pgJsonbText, pgNumericText, pgTimestamptzText } from './pg-text';
import { RowHashSum } from './row-hash';
import { sqlText } from './copy-sql';

const DIGIT4 = '[0-9][0-9][0-9][0-9]';
const DIGIT2 = '[0-9][0-9]';
const YMD = `${DIGIT4}-${DIGIT2}-${DIGIT2}`;
const HM = `${YMD}[ T]${DIGIT2}:${DIGIT2}`;
const HMS = `${HM}:${DIGIT2}`;

/**
 * `<UTF-8 bytes>:<text>`, or `N` for NULL: `expr` is evaluated thrice, so only cheap expressions are framed
 * here. octet_length() reads a stored text's size without scanning it, in a UTF-8 database; in a UTF-16 one
 * it would count UTF-16 bytes, so JavaScript counts.
 */
function framed(expr: string, utf8: boolean): string {
  const bytes = utf8 ? `octet_length(${expr})` : `dbops_utf8_bytes(${expr})`;
  return `CASE WHEN ${expr} IS NULL THEN 'N' ELSE concat(${bytes}, ':', ${expr}) END`;
}

/** The text itself, or `N` for NULL (kinds whose texts hold no comma). */
function bare(expr: string): string {
  return `ifnull(${expr}, 'N')`;
}

/**
 * Whether a kind's canonical texts are framed with their length: text may hold the field separator; a JSON
 * document's end follows from its grammar, and the other kinds print no comma.
 */
export function isFramed(kind: TargetKind): boolean {
  return kind === 'text';
}

function viaJs(column: ColumnPlan, q: string): string {
  return `dbops_canon(${sqlText(column.kind)}, ${q}, ${column.timeZone ? sqlText(column.timeZone) : 'NULL'})`;
}

/** The canonical field of one column. `utf8`: the database's text encoding is UTF-8. */
export function canonicalFieldSql(column: ColumnPlan, utf8: boolean): string {
  const q = quoteIdent(column.name);
  switch (column.kind) {
    case 'bigint':
      return bare(`CAST(${q} AS TEXT)`);
    case 'boolean':
      // Anything but the four spellings and 0/1 would not be a boolean: '?' then differs from both t and f.
      return `CASE typeof(${q}) WHEN 'null' THEN 'N'
        WHEN 'text' THEN (CASE lower(${q}) WHEN 't' THEN 't' WHEN 'true' THEN 't' WHEN 'f' THEN 'f' WHEN 'false' THEN 'f' ELSE '?' END)
        ELSE (CASE ${q} WHEN 1 THEN 't' WHEN 0 THEN 'f' ELSE '?' END) END`;
    case 'double':
      return `CASE WHEN ${q} IS NULL THEN 'N' ELSE ${viaJs(column, q)} END`;
    case 'numeric':
      return `CASE typeof(${q}) WHEN 'null' THEN 'N' WHEN 'real' THEN ${viaJs(column, q)} ELSE CAST(${q} AS TEXT) END`;
    case 'text':
      if (column.reals === false) return framed(q, utf8);
      return `CASE typeof(${q}) WHEN 'null' THEN 'N' WHEN 'real' THEN ${viaJs(column, q)} ELSE ${framed(`CAST(${q} AS TEXT)`, utf8)} END`;
    case 'jsonb':
      return `CASE WHEN ${q} IS NULL THEN 'N' ELSE ${viaJs(column, q)} END`;
    case 'timestamptz': {
      if (column.timeZone) return `CASE WHEN ${q} IS NULL THEN 'N' ELSE ${viaJs(column, q)} END`;
      // PostgreSQL prints `YYYY-MM-DD HH:MM:SS[.fraction without trailing zeros]+00` with TimeZone UTC.
      const day = `substr(${q}, 1, 10)`;
      const fraction = `rtrim(substr(${q}, 21), '0')`;
      return `CASE WHEN ${q} IS NULL THEN 'N'
        WHEN ${q} GLOB '${YMD} ${DIGIT2}:${DIGIT2}:${DIGIT2}' THEN ${q} || '+00'
        WHEN ${q} GLOB '${HMS}' THEN ${day} || ' ' || substr(${q}, 12) || '+00'
        WHEN ${q} GLOB '${HM}' THEN ${day} || ' ' || substr(${q}, 12) || ':00+00'
        WHEN ${q} GLOB '${YMD}' THEN ${q} || ' 00:00:00+00'
        WHEN ${q} GLOB '${HMS}.[0-9]*' AND length(${q}) <= 26 AND NOT substr(${q}, 21) GLOB '*[^0-9]*'
          THEN ${day} || ' ' || substr(${q}, 12, 8) || (CASE WHEN ${fraction} = '' THEN '' ELSE '.' || ${fraction} END) || '+00'
        ELSE ${viaJs(column, q)} END`;
    }
    case 'date':
      return `CASE WHEN ${q} IS NULL THEN 'N' WHEN ${q} GLOB '${YMD}' THEN ${q} ELSE ${viaJs(column, q)} END`;
    case 'bytea':
      // hex(NULL) is '', not NULL: the NULL case comes first.
      return utf8
        ? `CASE WHEN ${q} IS NULL THEN 'N' ELSE lower(hex(${q})) END`
        : `CASE typeof(${q}) WHEN 'null' THEN 'N' WHEN 'text' THEN ${viaJs(column, q)} ELSE lower(hex(${q})) END`;
  }
}

/** One row's canonical text (concat_ws builds it in one allocation; a chain of || copies it per field). */
export function canonicalRowSql(columns: readonly ColumnPlan[], utf8: boolean): string {
  return `concat_ws(',', ${columns.map((c) => canonicalFieldSql(c, utf8)).join(', ')})`;
}

/** `<UTF-8 bytes>:<text>`, as the SQL spells framed fields. */
export function frame(text: string): string {
  return `${Buffer.byteLength(text, 'utf8')}:${text}`;
}

/** The canonical text of a value SQL cannot spell, for its target kind (unframed). */
function canonicalValue(kind: TargetKind, value: unknown, timeZone?: string): string {
  switch (kind) {
    case 'double':
      return pgFloat8Text(Number(value));
    case 'numeric':
      return pgNumericText(value as number);
    case 'text':
      return realAsText(value as number);
    case 'jsonb':
      return pgJsonbText(String(value));
    case 'timestamptz': {
      const parsed = typeof value === 'string' ? parseTimestamp(value, timeZone) : null;
      return parsed ? pgTimestamptzText(parsed.epochMicros) : `?${String(value)}`;
    }
    case 'date': {
      const text = String(value).trim();
      return /^\d{4}-\d{2}-\d{2}$/.test(text) ? text : `?${text}`;
    }
    case 'bytea':
      return Buffer.from(String(value), 'utf8').toString('hex');
    default:
      return String(value);
  }
}

/**
 * A REAL stored in a text column becomes its shortest round-trip spelling, with `.0` on integral values
 * (SQLite's own habit, so 1.0 stays apart from the INTEGER 1) and SQLite's `Inf`; written here, not shared
 * with the encoder, so that the two must agree.
 */
function realAsText(value: number): string {
  if (value === Infinity) return 'Inf';
  if (value === -Infinity) return '-Inf';
  const shortest = Object.is(value, -0) ? '-0' : String(value);
  return shortest.includes('.') || shortest.includes('e') ? shortest : `${shortest}.0`;
}

/**
 * Registers `dbops_canon(kind, value, zone)` (the framed field) and the aggregate `dbops_row_hash(row)` (the
 * checksum text of the rows it saw) on a connection.
 */
export function registerCanonicalFunctions(db: Database.Database): void {
  // A value the canonicaliser cannot read gets a text PostgreSQL never prints (`?…`): PostgreSQL then either
  // refuses it at import (the COPY error says why) or verification names the column; never a thread crash.
  db.function(
    'dbops_canon',
    { deterministic: true, safeIntegers: true },
    (kind: unknown, value: unknown, zone: unknown) => {
      try {
        const text = canonicalValue(kind as TargetKind, value, (zone as string | null) ?? undefined);
        return isFramed(kind as TargetKind) ? frame(text) : text;
      } catch (err) {
        return isFramed(kind as TargetKind) ? frame(`?${(err as Error).message}`) : `?${(err as Error).message}`;
      }
    },
  );
  db.function('dbops_utf8_bytes', { deterministic: true }, (text: unknown) =>
    // A BigInt, so SQLite gets an INTEGER (a JS number would arrive as the REAL 18.0).
    text === null ? null : BigInt(Buffer.byteLength(String(text), 'utf8')),
  );
  db.aggregate<RowHashSum>('dbops_row_hash', {
    start: () => new RowHashSum(),
    step: ((sum: RowHashSum, row: string) => sum.addText(row)) as never,
    result: (sum: RowHashSum) => sum.value,
  });
}
