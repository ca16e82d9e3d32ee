/**
 * Chooses each column's PostgreSQL type from its declared type *and* a profile of its actual values
 * (never a silent cast: docs/architecture.md, rule 8). A column whose values do not all fit the richer type keeps a
 * lossless type and the reason says which values forced it; `strict` turns that into a failure. Values
 * PostgreSQL cannot store (NUL in text, invalid UTF-8) are fatal, named by table, column and row keys. Pure.
 */
import type { ColumnProfile } from '../sqlite/profile-columns';
import type { SourceColumn } from '../sqlite/source-schema';
import type { TargetKind } from '../../common/contracts/migration-plan';

/** The decision for one column. */
export interface TypeChoice {
  kind: TargetKind;
  /** The SQL type, e.g. `varchar(50)`, `timestamptz`. */
  sqlType: string;
  reason: string;
  /** Set when the declared type promised more than the values allow (a failure under `strict`). */
  widened?: string;
  /** Set when some value cannot be stored at all: the run must fail before touching the target. */
  fatal?: string;
}

/** SQLite's type affinity of a declared type (sqlite.org/datatype3.html §3.1). */
export function affinityOf(declared: string): 'INTEGER' | 'TEXT' | 'BLOB' | 'REAL' | 'NUMERIC' {
  const t = declared.toUpperCase();
  if (t.includes('INT')) return 'INTEGER';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'TEXT';
  if (t.includes('BLOB') || t.trim() === '') return 'BLOB';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'REAL';
  return 'NUMERIC';
}

const MAX_SAFE = 2n ** 53n;

/** Picks the target type of one column. `table` is used in messages only. */
export function chooseType(
  table: string,
  column: SourceColumn,
  p: ColumnProfile,
  rowidAlias: boolean,
  sourceTimeZone?: string,
): TypeChoice {
  const declared = column.declaredType.trim();
  const upper = declared.toUpperCase();
  const nonNull = p.integers + p.reals + p.texts + p.blobs;
  const where = `${table}.${column.name}`;

  if (p.nulTexts > 0 || p.invalidUtf8 > 0) {
    const what =
      p.nulTexts > 0 ? `${p.nulTexts} value(s) with a NUL byte` : `${p.invalidUtf8} value(s) that are not valid UTF-8`;
    const keys = (p.nulTexts > 0 ? p.badRowKeys.nul : p.badRowKeys.invalidUtf8).join('; ');
    return {
      kind: 'text',
      sqlType: 'text',
      reason: 'text',
      fatal: `${where} holds ${what} (rows: ${keys}); PostgreSQL text cannot store them. Fix those rows in the source, or declare the column BLOB to migrate it as bytea.`,
    };
  }
  if (rowidAlias)
    return { kind: 'bigint', sqlType: 'bigint', reason: 'INTEGER PRIMARY KEY (rowid alias) → bigint identity' };

  const only = (count: number): boolean => count === nonNull;
  const dominant = (): TypeChoice => byValues(where, p, nonNull);

  if (/BOOL/.test(upper)) {
    if (only(p.integers) && p.intsNot01 === 0)
      return { kind: 'boolean', sqlType: 'boolean', reason: 'declared BOOLEAN; every value is 0 or 1' };
    if (only(p.textBooleans))
      return { kind: 'boolean', sqlType: 'boolean', reason: "declared BOOLEAN; every value is 't'/'f'/'true'/'false'" };
    return widen(dominant(), `declared ${declared} but holds values other than 0/1 (${describe(p)})`);
  }
  if (/JSON/.test(upper)) {
    if (only(p.jsonContainers))
      return { kind: 'jsonb', sqlType: 'jsonb', reason: `declared ${declared}; every value is a JSON object or array` };
    return widen(
      dominant(),
      `declared ${declared} but ${nonNull - p.jsonContainers} value(s) are not JSON objects/arrays`,
    );
  }
  if (/DATE|TIME/.test(upper) && !/INT/.test(upper)) {
    if (nonNull > 0 && only(p.dates) && upper === 'DATE')
      return { kind: 'date', sqlType: 'date', reason: 'declared DATE; every value is YYYY-MM-DD' };
    if (nonNull > 0 && only(p.timestamps + p.dates)) return timestampChoice(`declared ${declared}`, p, sourceTimeZone);
    if (nonNull === 0)
      return { kind: 'timestamptz', sqlType: 'timestamptz', reason: `declared ${declared}; no values` };
    return widen(
      dominant(),
      `declared ${declared} but ${nonNull - p.timestamps - p.dates} value(s) are not ISO-8601 timestamps (${describe(p)})`,
    );
  }

  switch (affinityOf(declared)) {
    case 'INTEGER':
      if (only(p.integers))
        return {
          kind: 'bigint',
          sqlType: 'bigint',
          reason: `declared ${declared || 'INTEGER'}; every value an integer`,
        };
      return widen(dominant(), `declared ${declared} but holds ${describe(p)}`);
    case 'REAL':
      if (only(p.integers + p.reals) && fitsDouble(p))
        return {
          kind: 'double',
          sqlType: 'double precision',
          reason: `declared ${declared}; stored as IEEE doubles → double precision (bit-exact)`,
        };
      return widen(dominant(), `declared ${declared} but holds ${describe(p)}`);
    case 'NUMERIC':
      if (only(p.integers + p.reals) && typmodOf(declared)) return declaredPrecision(declared, p);
      if (only(p.integers + p.reals)) {
        return p.reals === 0
          ? { kind: 'bigint', sqlType: 'bigint', reason: `declared ${declared}; every value an integer` }
          : {
              kind: 'numeric',
              sqlType: 'numeric',
              reason: `declared ${declared}; numeric without typmod (SQLite enforces no precision)`,
            };
      }
      return widen(dominant(), `declared ${declared} but holds ${describe(p)}`);
    case 'TEXT': {
      if (only(p.texts) && nonNull > 0) {
        if (p.jsonContainers === nonNull)
          return { kind: 'jsonb', sqlType: 'jsonb', reason: `every value is a JSON object or array → jsonb` };
        if (p.timestamps + p.dates === nonNull && p.dates < nonNull)
          return timestampChoice('every value an ISO-8601 timestamp', p, sourceTimeZone);
      }
      const length = /\(\s*(\d+)\s*\)/.exec(declared)?.[1];
      if (only(p.texts) && length !== undefined && /CHAR/.test(upper)) {
        if (p.maxTextChars <= Number(length))
          return {
            kind: 'text',
            sqlType: `varchar(${length})`,
            reason: `declared ${declared}; longest value ${p.maxTextChars} characters`,
          };
        return widen(
          { kind: 'text', sqlType: 'text', reason: 'text' },
          `declared ${declared} but the longest value has ${p.maxTextChars} characters`,
        );
      }
      if (only(p.texts)) return { kind: 'text', sqlType: 'text', reason: `declared ${declared || 'TEXT'}` };
      return widen(dominant(), `declared ${declared} but holds ${describe(p)}`);
    }
    case 'BLOB':
      if (only(p.blobs))
        return { kind: 'bytea', sqlType: 'bytea', reason: `declared ${declared || '(no type)'}; every value a BLOB` };
      if (declared === '') return { ...dominant(), reason: `no declared type; chosen from the values: ${describe(p)}` };
      return widen(dominant(), `declared ${declared} but holds ${describe(p)}`);
  }
}

/** The lossless type for a mix of storage classes. */
function byValues(where: string, p: ColumnProfile, nonNull: number): TypeChoice {
  if (nonNull === 0) return { kind: 'text', sqlType: 'text', reason: 'no values' };
  if (p.blobs > 0)
    return {
      kind: 'bytea',
      sqlType: 'bytea',
      reason: `${where} holds BLOBs: every value stored as bytes (text as UTF-8, numbers as their SQLite text)`,
    };
  if (p.texts > 0)
    return { kind: 'text', sqlType: 'text', reason: 'mixed values kept as text (numbers as their SQLite text form)' };
  if (p.reals === 0) return { kind: 'bigint', sqlType: 'bigint', reason: 'every value an integer' };
  if (fitsDouble(p))
    return {
      kind: 'double',
      sqlType: 'double precision',
      reason: 'integers and reals → double precision (every integer within ±2^53)',
    };
  return { kind: 'numeric', sqlType: 'numeric', reason: 'integers beyond ±2^53 mixed with reals → numeric (exact)' };
}

function timestampChoice(why: string, p: ColumnProfile, sourceTimeZone = 'UTC'): TypeChoice {
  const naive = p.timestamps + p.dates - p.zonedTimestamps;
  return {
    kind: 'timestamptz',
    sqlType: 'timestamptz',
    reason: `${why} → timestamptz${naive > 0 ? ` (${naive} value(s) without offset read as ${sourceTimeZone})` : ''}`,
  };
}

function widen(choice: TypeChoice, why: string): TypeChoice {
  return { ...choice, reason: `${why} → kept as ${choice.sqlType} (lossless)`, widened: why };
}

function fitsDouble(p: ColumnProfile): boolean {
  const abs = (v: string | null): bigint => (v === null ? 0n : v.startsWith('-') ? -BigInt(v) : BigInt(v));
  return abs(p.intMin) <= MAX_SAFE && abs(p.intMax) <= MAX_SAFE;
}

function describe(p: ColumnProfile): string {
  const parts = [
    p.integers && `${p.integers} integer`,
    p.reals && `${p.reals} real`,
    p.texts && `${p.texts} text`,
    p.blobs && `${p.blobs} blob`,
  ].filter(Boolean);
  return parts.join(', ') || 'no values';
}

/** `(p,s)` or `(p)` of a declared NUMERIC/DECIMAL, when PostgreSQL can keep it (p 1–1000, 0 ≤ s ≤ p). */
function typmodOf(declared: string): { precision: number; scale: number } | null {
  const match = /^\s*(?:NUMERIC|DECIMAL|DEC)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)\s*$/i.exec(declared);
  if (!match) return null;
  const precision = Number(match[1]);
  const scale = Number(match[2] ?? 0);
  return precision >= 1 && precision <= 1000 && scale <= precision ? { precision, scale } : null;
}

/**
 * A declared NUMERIC(p,s) is kept when every value fits it exactly — at most p−s digits before the point
 * and s after, in its shortest exact spelling — since PostgreSQL would otherwise round (or refuse) it;
 * else plain numeric (exact), naming the value that forced it.
 */
function declaredPrecision(declared: string, p: ColumnProfile): TypeChoice {
  const { precision, scale } = typmodOf(declared) ?? { precision: 0, scale: 0 };
  const type = `numeric(${precision},${scale})`;
  if (p.maxIntDigits <= precision - scale && p.maxFracDigits <= scale)
    return { kind: 'numeric', sqlType: type, reason: `declared ${declared}; every value fits ${type}` };
  const culprit =
    p.maxFracDigits > scale
      ? `${p.maxFracDigitsValue ?? '?'} has ${p.maxFracDigits} digits after the point`
      : `${p.maxIntDigitsValue ?? '?'} has ${p.maxIntDigits} digits before the point`;
  return widen(
    { kind: 'numeric', sqlType: 'numeric', reason: 'numeric (exact)' },
    `declared ${declared} but ${culprit}, more than ${type} holds`,
  );
}
