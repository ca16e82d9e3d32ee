/**
 * Value conversion between the two sides, per target kind: how a SQLite value is written into COPY text,
 * and the canonical form both sides reduce to for verification (so equal data hashes equal whatever the
 * textual spelling: `1e+21` vs `1000000000000000000000`, `{"b":1, "a":2}` vs `{"a": 2, "b": 1}`). Pure.
 */
import type { TargetKind } from '../../common/contracts/migration-plan';
import { formatUtcMicros, instantKey, parseTimestamp, utcCopyText } from '../sqlite/timestamps';

/** A value as better-sqlite3 returns it with safe integers on. */
export type SqliteValue = null | bigint | number | string | Buffer;

/**
 * How to SELECT a column for its kind: text and bytea go through SQLite's own CAST, except that a REAL in
 * a text column is read as the double itself and spelled exactly in JS (see `textOf`): SQLite's CAST(… AS
 * TEXT) of a REAL is not exact everywhere (older versions print 15 significant digits; -0.0 loses its
 * sign).
 */
export function selectExpression(quotedColumn: string, kind: TargetKind): string {
  if (kind === 'text')
    return `CASE WHEN typeof(${quotedColumn}) = 'real' THEN ${quotedColumn} ELSE CAST(${quotedColumn} AS TEXT) END`;
  // Text goes through as text (then UTF-8 bytes in JS), whatever the database encoding: CAST(text AS BLOB)
  // would give UTF-16 bytes in a UTF-16 database.
  if (kind === 'bytea')
    return `CASE WHEN typeof(${quotedColumn}) = 'text' THEN ${quotedColumn} ELSE CAST(${quotedColumn} AS BLOB) END`;
  return quotedColumn;
}

/**
 * The COPY text-format field for a value (`\N` for NULL, escaped). Throws on a value the kind cannot take.
 * `timeZone`: the zone naive timestamps are read in (UTC when absent).
 */
export function copyField(kind: TargetKind, value: SqliteValue, timeZone?: string): string {
  if (value === null) return '\\N';
  switch (kind) {
    case 'bigint':
      return String(value);
    case 'boolean':
      return toBoolean(value) ? 't' : 'f';
    case 'double':
      return formatDouble(Number(value));
    case 'numeric':
      return typeof value === 'number' ? formatDouble(value) : String(value);
    case 'text':
      return escapeCopy(textOf(value));
    case 'jsonb':
      return escapeCopy(String(value));
    case 'timestamptz': {
      if (timeZone) return formatUtcMicros(mustParse(value, timeZone).epochMicros);
      const text = typeof value === 'string' ? utcCopyText(value) : null;
      if (text === null) throw new Error(`not a timestamp: ${String(value).slice(0, 40)}`);
      return escapeCopy(text);
    }
    case 'date':
      return String(value).trim();
    case 'bytea':
      return `\\\\x${(Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8')).toString('hex')}`;
  }
}

/** Canonical text of a SQLite value for the row digest. */
export function canonicalSource(kind: TargetKind, value: SqliteValue, timeZone?: string): string | null {
  if (value === null) return null;
  switch (kind) {
    case 'numeric':
      return canonicalDecimal(typeof value === 'number' ? formatDouble(value) : String(value));
    case 'text':
      return textOf(value);
    case 'jsonb':
      return canonicalJson(String(value));
    case 'timestamptz':
      return mustInstant(value, timeZone);
    case 'bytea':
      return (Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8')).toString('hex');
    default:
      // bigint, boolean, double and date: the COPY spelling is already canonical.
      return copyField(kind, value);
  }
}

/** Canonical text of a PostgreSQL value given as its text output (TimeZone UTC). */
export function canonicalTarget(kind: TargetKind, text: string | null): string | null {
  if (text === null) return null;
  switch (kind) {
    case 'double':
      return formatDouble(Number(text));
    case 'numeric':
      return canonicalDecimal(text);
    case 'jsonb':
      return canonicalJson(text);
    case 'timestamptz':
      return mustInstant(text);
    case 'bytea':
      return text.startsWith('\\x') ? text.slice(2) : text;
    case 'boolean':
      // boolean::text spells 'true'/'false'; the wire format says 't'/'f'.
      return text === 'true' || text === 't' ? 't' : 'f';
    default:
      return text;
  }
}

/**
 * The text a value of a text column becomes. A REAL (the only value that reaches here as a JS number)
 * gets its shortest round-trip spelling, which reads back as the same double, with SQLite's `.0` on
 * integral values so that 1.0 stays distinguishable from the INTEGER 1, and SQLite's `Inf`/`-Inf`.
 */
export function textOf(value: SqliteValue): string {
  if (typeof value !== 'number') return String(value);
  if (!Number.isFinite(value)) return value > 0 ? 'Inf' : '-Inf';
  const text = formatDouble(value);
  return /[.en]/.test(text) ? text : `${text}.0`;
}

/** JS shortest round-trip text of a double, keeping -0 (PostgreSQL float8 keeps it too). */
export function formatDouble(value: number): string {
  if (Object.is(value, -0)) return '-0';
  return String(value);
}

/** A decimal number as `<sign><digits>e<exponent>` with no leading/trailing zeros: equal values, equal text. */
export function canonicalDecimal(text: string): string {
  const t = text.trim();
  if (/^[+-]?(infinity|inf|nan)$/i.test(t))
    return t
      .replace(/^\+/, '')
      .toLowerCase()
      .replace(/^(-?)inf$/, '$1infinity');
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(t);
  if (!m) return t;
  const [, sign, int = '', frac = '', exp = '0'] = m;
  const digits = `${int}${frac}`.replace(/^0+/, '');
  if (digits === '') return '0';
  const significant = digits.replace(/0+$/, '');
  const exponent = Number(exp) - frac.length + (digits.length - significant.length);
  return `${sign === '-' ? '-' : ''}${significant}e${exponent}`;
}

/** JSON with object keys sorted (last duplicate wins, as in jsonb): equal documents, equal text. */
export function canonicalJson(text: string): string {
  return stableStringify(JSON.parse(text));
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function toBoolean(value: SqliteValue): boolean {
  if (typeof value === 'string') return /^(t|true)$/i.test(value.trim());
  return Number(value) !== 0;
}

function mustInstant(value: SqliteValue, timeZone?: string): string {
  const key = typeof value === 'string' ? instantKey(value, timeZone) : null;
  if (key === null) throw new Error(`not a timestamp: ${String(value).slice(0, 40)}`);
  return key;
}

function mustParse(value: SqliteValue, timeZone?: string): { epochMicros: bigint } {
  const parsed = typeof value === 'string' ? parseTimestamp(value, timeZone) : null;
  if (!parsed) throw new Error(`not a timestamp: ${String(value).slice(0, 40)}`);
  return parsed;
}

const COPY_SPECIAL = /[\\\n\r\t]/;

/** Escapes text for COPY's text format. */
export function escapeCopy(text: string): string {
  if (!COPY_SPECIAL.test(text)) return text;
  return text.replace(/[\\\n\r\t]/g, (ch) =>
    ch === '\\' ? '\\\\' : ch === '\n' ? '\\n' : ch === '\r' ? '\\r' : '\\t',
  );
}
