/**
 * Profiles the actual values of every column in one pass per table: storage classes, integer range,
 * JSON containers, timestamps, NUL bytes and invalid UTF-8 (which better-sqlite3 would otherwise turn
 * into U+FFFD without a word). The profile, not the declared type alone, chooses the PostgreSQL type.
 */
import type Database from 'better-sqlite3';
import { isUtf8 } from 'node:buffer';
import { timestampShape } from './timestamps';
import { quoteIdent } from './identifiers';
import type { SourceTable } from './source-schema';

/** Counts over one column's values. */
export interface ColumnProfile {
  nulls: number;
  integers: number;
  reals: number;
  texts: number;
  blobs: number;
  /** Smallest and largest INTEGER-class value, as decimal strings. */
  intMin: string | null;
  intMax: string | null;
  /** INTEGER-class values other than 0 and 1. */
  intsNot01: number;
  /** TEXT values 't', 'f', 'true', 'false' (any case). */
  textBooleans: number;
  /** TEXT values that are a JSON object or array PostgreSQL's jsonb accepts. */
  jsonContainers: number;
  /** TEXT values that parse as timestamps / as dates only. */
  timestamps: number;
  dates: number;
  /** TEXT values with a timezone offset (the others are naive). */
  zonedTimestamps: number;
  /** TEXT values holding a NUL byte, or bytes that are not UTF-8. */
  nulTexts: number;
  invalidUtf8: number;
  maxTextChars: number;
  /** Size in bytes of the largest TEXT or BLOB value. */
  maxValueBytes: number;
  /**
   * Of INTEGER and REAL values, in their shortest exact decimal spelling: the most digits before and after
   * the decimal point, each with a value that has them (a declared NUMERIC(p,s) is kept only if they fit).
   */
  maxIntDigits: number;
  maxFracDigits: number;
  maxIntDigitsValue: string | null;
  maxFracDigitsValue: string | null;
  /** Up to 5 row keys of values PostgreSQL cannot store as text. */
  badRowKeys: { nul: string[]; invalidUtf8: string[] };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** False when the text has a lone UTF-16 surrogate (not representable in UTF-8). */
function wellFormed(text: string): boolean {
  const native = (text as { isWellFormed?: () => boolean }).isWellFormed;
  return native ? native.call(text) : !LONE_SURROGATE.test(text);
}

/** Registers the profiling aggregate and helper on a connection the caller owns. */
export function registerProfileFunctions(db: Database.Database): void {
  // Takes the raw bytes (UTF-8 databases) or the text (UTF-16 databases, where lone surrogates are the fault).
  db.function('dbops_text_ok', { deterministic: true }, (value: unknown) => {
    if (typeof value === 'string') return wellFormed(value) ? 1 : 0;
    return isUtf8(value as Buffer) ? 1 : 0;
  });
  // One JS call per value computes every count (SQLite would re-evaluate a scalar UDF per reference). Values
  // arrive as JS numbers and strings, the cheap forms: integers beyond ±2^53 and texts that may hide invalid
  // UTF-8 are only flagged here, and settled exactly by a second, targeted query (see profileTable).
  db.aggregate<Accumulator>('dbops_profile', {
    deterministic: true,
    start: () => ({ ...emptyCounts(), min: null, max: null, unsafeIntegers: 0, replacementChars: 0 }),
    step: ((acc: Accumulator, type: string, value: unknown) => {
      profileValue(acc, type, value);
    }) as never,
    result: (acc: Accumulator) => JSON.stringify(acc),
  });
}

/** The counters of a profile. */
export type Counts = Omit<ColumnProfile, 'intMin' | 'intMax' | 'badRowKeys'>;
interface Accumulator extends Counts {
  min: number | null;
  max: number | null;
  /** Integers beyond ±2^53 (min/max are then read again exactly). */
  unsafeIntegers: number;
  /** Texts holding U+FFFD, which is what invalid UTF-8 turns into when read as text. */
  replacementChars: number;
}

/** All-zero counts (exported for tests that build profiles by hand). */
export function emptyCounts(): Counts {
  return {
    nulls: 0,
    integers: 0,
    reals: 0,
    texts: 0,
    blobs: 0,
    intsNot01: 0,
    textBooleans: 0,
    jsonContainers: 0,
    timestamps: 0,
    dates: 0,
    zonedTimestamps: 0,
    nulTexts: 0,
    invalidUtf8: 0,
    maxTextChars: 0,
    maxValueBytes: 0,
    maxIntDigits: 0,
    maxFracDigits: 0,
    maxIntDigitsValue: null,
    maxFracDigitsValue: null,
  };
}

/** Digits before and after the point of a number's shortest round-trip decimal spelling (exponents expanded). */
export function decimalDigits(value: number): { int: number; frac: number } {
  const [mantissa = '0', exponent = '0'] = Math.abs(value).toString().split('e');
  const [whole = '', fraction = ''] = mantissa.split('.');
  const digits = whole + fraction;
  const point = whole.length + Number(exponent); // where the point falls in `digits`
  const intPart = point <= 0 ? '' : digits.slice(0, point).padEnd(point, '0');
  const fracPart = point < 0 ? '0'.repeat(-point) + digits : digits.slice(point);
  return { int: intPart.replace(/^0+/, '').length, frac: fracPart.replace(/0+$/, '').length };
}

function noteDigits(acc: Accumulator, value: number): void {
  const { int, frac } = decimalDigits(value);
  if (int > acc.maxIntDigits) {
    acc.maxIntDigits = int;
    acc.maxIntDigitsValue = String(value);
  }
  if (frac > acc.maxFracDigits) {
    acc.maxFracDigits = frac;
    acc.maxFracDigitsValue = String(value);
  }
}

/** Adds one value (`type` is SQLite's typeof(); integers arrive as numbers, text as a string). */
function profileValue(acc: Accumulator, type: string, value: unknown): void {
  switch (type) {
    case 'null':
      acc.nulls++;
      return;
    case 'integer': {
      acc.integers++;
      const v = value as number;
      if (!Number.isSafeInteger(v)) acc.unsafeIntegers++;
      if (acc.min === null || v < acc.min) acc.min = v;
      if (acc.max === null || v > acc.max) acc.max = v;
      if (v !== 0 && v !== 1) acc.intsNot01++;
      noteDigits(acc, v);
      return;
    }
    case 'real':
      acc.reals++;
      noteDigits(acc, value as number);
      return;
    case 'blob':
      acc.blobs++;
      if ((value as Buffer).length > acc.maxValueBytes) acc.maxValueBytes = (value as Buffer).length;
      return;
    default: {
      acc.texts++;
      const text = value as string;
      if (text.includes('\0')) acc.nulTexts++;
      // UTF-8 database: invalid bytes arrive as U+FFFD (checked exactly afterwards). UTF-16 database: a lone
      // surrogate is the invalid case.
      if (text.includes('\uFFFD')) acc.replacementChars++;
      if (!wellFormed(text)) {
        acc.invalidUtf8++;
        return;
      }
      // Code points and UTF-8 bytes are at most the length and 3× the length: count only what could win.
      if (text.length > acc.maxTextChars) {
        let chars = text.length;
        for (let i = 0; i < text.length; i++) if ((text.charCodeAt(i) & 0xfc00) === 0xd800) chars--;
        if (chars > acc.maxTextChars) acc.maxTextChars = chars;
      }
      if (text.length * 3 > acc.maxValueBytes) acc.maxValueBytes = Math.max(acc.maxValueBytes, Buffer.byteLength(text));
      const first = text.charCodeAt(0) <= 32 ? text.trimStart()[0] : text[0];
      if (first === '{' || first === '[') {
        if (isJsonContainer(text)) acc.jsonContainers++;
      } else if (first !== undefined && first >= '0' && first <= '9') {
        const ts = timestampShape(text);
        if (ts?.dateOnly) acc.dates++;
        else if (ts) {
          acc.timestamps++;
          if (!ts.naive) acc.zonedTimestamps++;
        }
      } else if (text.length <= 5 && /^(t|f|true|false)$/i.test(text)) acc.textBooleans++;
    }
  }
}

/** One aggregate query over the table: a profile per column (generated columns excluded). */
export function profileTable(
  db: Database.Database,
  table: SourceTable,
  encoding = 'UTF-8',
): Record<string, ColumnProfile> {
  const utf16 = encoding.toUpperCase().startsWith('UTF-16');
  const columns = table.columns.filter((c) => c.hidden === 0);
  if (columns.length === 0) return {};
  const from = quoteIdent(table.name);
  const selects = columns.map((c, i) => `dbops_profile(typeof(${quoteIdent(c.name)}), ${quoteIdent(c.name)}) AS p${i}`);
  const row = db.prepare(`SELECT ${selects.join(', ')} FROM ${from}`).get() as Record<string, string | null>;
  const keyExpr = table.withoutRowid
    ? table.columns
        .filter((c) => c.pkPosition > 0)
        .sort((a, b) => a.pkPosition - b.pkPosition)
        .map((c) => `quote(${quoteIdent(c.name)})`)
        .join(" || ', ' || ")
    : "'rowid ' || rowid";
  const sampleKeys = (where: string): string[] =>
    db
      .prepare(`SELECT ${keyExpr || "'?'"} FROM ${from} WHERE ${where} LIMIT 5`)
      .pluck()
      .all() as string[];

  return Object.fromEntries(
    columns.map((c, i) => {
      const q = quoteIdent(c.name);
      const acc = JSON.parse(row[`p${i}`] ?? 'null') as Accumulator | null;
      const { min, max, unsafeIntegers, replacementChars, ...counts } = acc ?? {
        ...emptyCounts(),
        min: null,
        max: null,
        unsafeIntegers: 0,
        replacementChars: 0,
      };
      const profile: ColumnProfile = {
        ...counts,
        intMin: min === null ? null : String(min),
        intMax: max === null ? null : String(max),
        badRowKeys: { nul: [], invalidUtf8: [] },
      };
      if (unsafeIntegers > 0) {
        // Beyond ±2^53 the numbers above are rounded: read the range again as exact 64-bit integers.
        const exact = db
          .prepare(`SELECT min(${q}), max(${q}) FROM ${from} WHERE typeof(${q}) = 'integer'`)
          .raw(true)
          .safeIntegers(true)
          .get() as [bigint, bigint];
        profile.intMin = exact[0].toString();
        profile.intMax = exact[1].toString();
      }
      if (replacementChars > 0 && !utf16) {
        // U+FFFD in the text: a real one, or invalid UTF-8 that reading as text disguised. Decide on the bytes.
        profile.invalidUtf8 = db
          .prepare(`SELECT count(*) FROM ${from} WHERE typeof(${q}) = 'text' AND NOT dbops_text_ok(CAST(${q} AS BLOB))`)
          .pluck()
          .get() as number;
      }
      if (profile.nulTexts > 0)
        profile.badRowKeys.nul = sampleKeys(
          `typeof(${q}) = 'text' AND ${utf16 ? `instr(${q}, char(0)) > 0` : `instr(CAST(${q} AS BLOB), x'00') > 0`}`,
        );
      if (profile.invalidUtf8 > 0) {
        profile.badRowKeys.invalidUtf8 = sampleKeys(
          `typeof(${q}) = 'text' AND NOT dbops_text_ok(${utf16 ? q : `CAST(${q} AS BLOB)`})`,
        );
      }
      return [c.name, profile];
    }),
  );
}

/** A JSON object or array that PostgreSQL's jsonb accepts (it rejects the \u0000 escape). */
export function isJsonContainer(text: unknown): boolean {
  if (typeof text !== 'string') return false;
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[') return false;
  if (/\\u0000/i.test(text)) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
