/**
 * The per-value COPY encoding in JavaScript, for the values SQLite cannot spell exactly in SQL (copy-sql.ts
 * says which): how a SQLite value is written into COPY text, per target kind. Pure.
 */
import type { TargetKind } from '../../common/contracts/migration-plan';
import { formatUtcMicros, parseTimestamp, utcCopyText } from '../sqlite/timestamps';

/** A value as better-sqlite3 returns it with safe integers on. */
export type SqliteValue = null | bigint | number | string | Buffer;

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

function toBoolean(value: SqliteValue): boolean {
  if (typeof value === 'string') return /^(t|true)$/i.test(value.trim());
  return Number(value) !== 0;
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
