/**
 * Profiles the actual values of every column: storage classes, integer range, JSON containers, timestamps,
 * NUL bytes and invalid UTF-8 (which better-sqlite3 would otherwise turn into U+FFFD without a word). The
 * profile, not the declared type alone, chooses the PostgreSQL type.
 *
 * One pass per table computes it with few SQLite aggregates per column, chosen by what a sample of the first
 * rows holds: an INTEGER column needs min, max and one packed sum; a TEXT column's values arrive in
 * concatenated chunks that JavaScript checks in bulk (UTF-8 validity in one SIMD call) and classifies byte by
 * byte. Any column the sample misjudged, or whose short texts hold a NUL byte or invalid UTF-8, is profiled
 * again on an exact per-value SQL path that hands what SQL cannot decide to JavaScript, value by value. Every
 * counter equals what a per-value JavaScript profile finds (the equivalence test keeps that one as the
 * reference); the example values reported are the first in the table's scan order.
 */
import type Database from 'better-sqlite3';
import { isAscii, isUtf8 } from 'node:buffer';
import { timestampShape } from './timestamps';
import { quoteIdent } from './identifiers';
import type { SourceColumn, SourceTable } from './source-schema';

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

/** The counters of a profile. */
export type Counts = Omit<ColumnProfile, 'intMin' | 'intMax' | 'badRowKeys'>;

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
  const text = Math.abs(value).toString();
  if (!text.includes('e')) {
    // Plain spelling: no leading zero but a lone "0" before the point, no trailing zero after it.
    const point = text.indexOf('.');
    const whole = point < 0 ? text : text.slice(0, point);
    return { int: whole === '0' ? 0 : whole.length, frac: point < 0 ? 0 : text.length - point - 1 };
  }
  const [mantissa = '0', exponent = '0'] = text.split('e');
  const [whole = '', fraction = ''] = mantissa.split('.');
  const digits = whole + fraction;
  const point = whole.length + Number(exponent); // where the point falls in `digits`
  const intPart = point <= 0 ? '' : digits.slice(0, point).padEnd(point, '0');
  const fracPart = point < 0 ? '0'.repeat(-point) + digits : digits.slice(point);
  return { int: intPart.replace(/^0+/, '').length, frac: fracPart.replace(/0+$/, '').length };
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

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** False when the text has a lone UTF-16 surrogate (not representable in UTF-8). */
function wellFormed(text: string): boolean {
  const native = (text as { isWellFormed?: () => boolean }).isWellFormed;
  return native ? native.call(text) : !LONE_SURROGATE.test(text);
}

// ---------------------------------------------------------------------------------------------------------
// Per-value JavaScript: the reference semantics, for the values SQL and the bulk scan hand over

/** What JavaScript found in the texts of one column it was handed. */
type TextTally = Pick<
  Counts,
  | 'textBooleans'
  | 'jsonContainers'
  | 'timestamps'
  | 'dates'
  | 'zonedTimestamps'
  | 'nulTexts'
  | 'invalidUtf8'
  | 'maxTextChars'
  | 'maxValueBytes'
> & {
  /** A text beyond plain ASCII was seen: byte lengths are then not known to be character counts. */
  nonAscii: boolean;
  /** Texts JavaScript profiled one by one. */
  handed: number;
};

function emptyTally(): TextTally {
  return {
    textBooleans: 0,
    jsonContainers: 0,
    timestamps: 0,
    dates: 0,
    zonedTimestamps: 0,
    nulTexts: 0,
    invalidUtf8: 0,
    maxTextChars: 0,
    maxValueBytes: 0,
    nonAscii: false,
    handed: 0,
  };
}

/** Counts a text as a JSON container, date, timestamp or boolean, by its first non-blank character. */
function classifyText(t: TextTally, text: string): void {
  const first = text.charCodeAt(0) <= 32 ? text.trimStart()[0] : text[0];
  if (first === '{' || first === '[') {
    if (isJsonContainer(text)) t.jsonContainers++;
  } else if (first !== undefined && first >= '0' && first <= '9') {
    const ts = timestampShape(text);
    if (ts?.dateOnly) t.dates++;
    else if (ts) {
      t.timestamps++;
      if (!ts.naive) t.zonedTimestamps++;
    }
  } else if (text.length <= 5 && /^(t|f|true|false)$/i.test(text)) t.textBooleans++;
}

/**
 * Profiles one text as read through better-sqlite3: `bytes` are its raw bytes (UTF-8 databases; null for
 * UTF-16 ones, where SQLite hands over the text re-encoded and a lone surrogate is the invalid case).
 */
function tallyText(t: TextTally, text: string, bytes: Buffer | null): void {
  t.handed++;
  t.nonAscii = true;
  if (text.includes('\0')) t.nulTexts++;
  if (bytes !== null && !isUtf8(bytes)) t.invalidUtf8++;
  if (!wellFormed(text)) {
    if (bytes === null) t.invalidUtf8++;
    return;
  }
  let chars = text.length;
  for (let i = 0; i < text.length; i++) if ((text.charCodeAt(i) & 0xfc00) === 0xd800) chars--;
  t.maxTextChars = Math.max(t.maxTextChars, chars);
  t.maxValueBytes = Math.max(t.maxValueBytes, Buffer.byteLength(text));
  classifyText(t, text);
}

/** The widest digit counts of numbers seen in scan order, each with the first value that has it. */
interface Digits {
  maxIntDigits: number;
  maxFracDigits: number;
  maxIntDigitsValue: string | null;
  maxFracDigitsValue: string | null;
}

function noDigits(): Digits {
  return { maxIntDigits: 0, maxFracDigits: 0, maxIntDigitsValue: null, maxFracDigitsValue: null };
}

/** Digit counts of numbers seen lately: a column's numbers repeat, and spelling them is the costly part. */
const digitsCache = new Map<number, { int: number; frac: number }>();

function noteDigits(acc: Digits, value: number): void {
  let digits = digitsCache.get(value);
  if (!digits) {
    if (digitsCache.size >= 4096) digitsCache.clear();
    digitsCache.set(value, (digits = decimalDigits(value)));
  }
  const { int, frac } = digits;
  if (int > acc.maxIntDigits) {
    acc.maxIntDigits = int;
    acc.maxIntDigitsValue = String(value);
  }
  if (frac > acc.maxFracDigits) {
    acc.maxFracDigits = frac;
    acc.maxFracDigitsValue = String(value);
  }
}

/**
 * The tallies of the profileTable call in progress on a connection, by column position. The SQL functions
 * below write into them: called once per handed-over value from inside the one aggregate that decides the
 * value, they cost nothing for the values SQL decides itself.
 */
const tallies = new WeakMap<Database.Database, Map<number, TextTally>>();

function tallyOf(db: Database.Database, column: number): TextTally {
  const byColumn = tallies.get(db);
  if (!byColumn) throw new Error('dbops profiling functions called outside profileTable');
  let t = byColumn.get(column);
  if (!t) byColumn.set(column, (t = emptyTally()));
  return t;
}

/** Registers the profiling SQL functions on a connection the caller owns. */
export function registerProfileFunctions(db: Database.Database): void {
  // Takes the raw bytes (UTF-8 databases) or the text (UTF-16 databases, where lone surrogates are the fault).
  db.function('dbops_text_ok', { deterministic: true }, (value: unknown) => {
    if (typeof value === 'string') return wellFormed(value) ? 1 : 0;
    return isUtf8(value as Buffer) ? 1 : 0;
  });
  // A text that is not plain ASCII: 1 when it is valid UTF-8 without NUL (SQL then decides the rest). Read as
  // text, invalid bytes arrive as U+FFFD; a U+FFFD, real or not, hands the text to dbops_text.
  db.function('dbops_utf8', (column: number, text: string) => {
    if (text.includes('\uFFFD') || text.includes('\0')) return 0;
    tallyOf(db, column).nonAscii = true;
    return 1;
  });
  // A text SQL cannot decide: profiled here. Returns INTEGER 0 (a number would arrive as REAL), added to the SQL
  // sum that handed it over.
  db.function('dbops_text', (column: number, text: string, bytes: Buffer | null) => {
    tallyText(tallyOf(db, column), text, bytes);
    return 0n;
  });
  // The numbers of a column that holds REAL values, in scan order: their shortest spellings need JavaScript.
  db.aggregate<Digits>('dbops_digits', {
    start: noDigits,
    step: ((acc: Digits, value: number) => {
      noteDigits(acc, value);
    }) as never,
    result: (acc: Digits) => JSON.stringify(acc),
  });
}

// ---------------------------------------------------------------------------------------------------------
// Bulk text scan: a column's texts concatenated with NUL separators, checked and classified in JavaScript

/** What the bulk scan found in a TEXT column. */
interface TextScan extends TextTally {
  texts: number;
  /** A NUL byte inside a text, bytes that are not UTF-8, or a value that is not a TEXT: redo exactly. */
  unusual: boolean;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The two decimal digits at `at` as a number, or -1 (the text ends at `end`). */
function twoDigits(b: Buffer, at: number, end: number): number {
  if (at + 1 >= end) return -1;
  const hi = b[at]! - 0x30;
  const lo = b[at + 1]! - 0x30;
  return hi >= 0 && hi <= 9 && lo >= 0 && lo <= 9 ? hi * 10 + lo : -1;
}

/**
 * The common timestamp spellings read straight off the bytes of a text that starts with a digit: `YYYY-MM-DD`,
 * then `[ Tt]HH:MM[:SS[.f{1,6}]]`, then nothing, `Z`/`z` or `±HH:MM`. 'none' when the text is no timestamp,
 * undefined when it has another spelling after a date (timestampShape then decides).
 */
function quickTimestamp(b: Buffer, start: number, end: number): 'date' | 'naive' | 'zoned' | 'none' | undefined {
  // A text that starts with a digit is a timestamp only if it starts with a date.
  if (end - start < 10 || b[start + 4] !== 0x2d || b[start + 7] !== 0x2d) return 'none';
  const century = twoDigits(b, start, end);
  const yy = twoDigits(b, start + 2, end);
  const month = twoDigits(b, start + 5, end);
  const day = twoDigits(b, start + 8, end);
  if (century < 0 || yy < 0 || month < 0 || day < 0) return 'none';
  const year = century * 100 + yy;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  let valid =
    year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= (month === 2 && leap ? 29 : MONTH_DAYS[month - 1]!);
  let at = start + 10;
  if (at === end) return valid ? 'date' : 'none';
  const sep = b[at];
  if ((sep !== 0x20 && sep !== 0x54 && sep !== 0x74) || at + 6 > end || b[at + 3] !== 0x3a) return undefined;
  const hour = twoDigits(b, at + 1, end);
  const minute = twoDigits(b, at + 4, end);
  if (hour < 0 || minute < 0) return undefined;
  valid &&= hour <= 23 && minute <= 59;
  at += 6;
  if (at < end && b[at] === 0x3a) {
    const second = twoDigits(b, at + 1, end);
    if (second < 0) return undefined;
    valid &&= second <= 59;
    at += 3;
    if (at < end && b[at] === 0x2e) {
      let n = 0;
      while (at + 1 + n < end && b[at + 1 + n]! >= 0x30 && b[at + 1 + n]! <= 0x39) n++;
      if (n < 1 || n > 6) return undefined;
      at += 1 + n;
    }
  }
  if (at === end) return valid ? 'naive' : 'none';
  if ((b[at] === 0x5a || b[at] === 0x7a) && at + 1 === end) return valid ? 'zoned' : 'none';
  if ((b[at] === 0x2b || b[at] === 0x2d) && at + 6 === end && b[at + 3] === 0x3a) {
    const oh = twoDigits(b, at + 1, end);
    const om = twoDigits(b, at + 4, end);
    if (oh < 0 || om < 0) return undefined;
    return valid && oh <= 15 && om <= 59 ? 'zoned' : 'none';
  }
  return undefined;
}

/** 't', 'f', 'true' or 'false' in any case, from the bytes. */
function isBooleanText(b: Buffer, start: number, end: number): boolean {
  const word = end - start === 1 ? 'tf' : end - start === 4 ? 'true' : end - start === 5 ? 'false' : '';
  if (word === '') return false;
  if (word === 'tf') return (b[start]! | 0x20) === 0x74 || (b[start]! | 0x20) === 0x66;
  for (let i = 0; i < word.length; i++) if ((b[start + i]! | 0x20) !== word.charCodeAt(i)) return false;
  return true;
}

/**
 * Checks and classifies one chunk of texts (`jsonBySql`: SQL counts the JSON containers up to 2001 bytes).
 * The NUL separators are ASCII, so one validity check covers every text of the chunk.
 */
function scanChunk(s: TextScan, b: Buffer, jsonBySql: boolean): void {
  const ascii = isAscii(b);
  if (!ascii) {
    s.nonAscii = true;
    if (!isUtf8(b)) {
      s.unusual = true;
      return;
    }
  }
  for (let start = 0; ;) {
    let end = b.indexOf(0, start);
    if (end < 0) end = b.length;
    s.texts++;
    const bytes = end - start;
    if (bytes > s.maxValueBytes) s.maxValueBytes = bytes;
    if (bytes > s.maxTextChars) {
      let chars = bytes;
      if (!ascii) for (let i = start; i < end; i++) if ((b[i]! & 0xc0) === 0x80) chars--;
      if (chars > s.maxTextChars) s.maxTextChars = chars;
    }
    const first = bytes === 0 ? -1 : b[start]!;
    if (first >= 0x30 && first <= 0x39) {
      const kind = quickTimestamp(b, start, end);
      if (kind === undefined) classifyText(s, b.toString('utf8', start, end));
      else if (kind === 'date') s.dates++;
      else if (kind !== 'none') {
        s.timestamps++;
        if (kind === 'zoned') s.zonedTimestamps++;
      }
    } else if (first === 0x5b || first === 0x7b) {
      if (!jsonBySql || bytes > 2001) classifyText(s, b.toString('utf8', start, end));
    } else if (first >= 0 && first <= 0x20) classifyText(s, b.toString('utf8', start, end));
    else if (((first | 0x20) === 0x74 || (first | 0x20) === 0x66) && isBooleanText(b, start, end)) s.textBooleans++;
    if (end === b.length) return;
    start = end + 1;
  }
}

// ---------------------------------------------------------------------------------------------------------
// SQL building blocks

/**
 * Several counters summed in one 64-bit SQL integer: counter k of a sum weighs base^k, base = rows + 1, so
 * no counter can carry into the next. One aggregate instead of one per counter is what keeps the pass fast.
 */
interface Packing {
  base: bigint;
  perSum: number;
}

function packing(rows: number): Packing {
  const base = BigInt(Math.max(rows, 1)) + 1n;
  let perSum = 1;
  while (base ** BigInt(perSum + 1) < 2n ** 63n) perSum++;
  return { base, perSum };
}

/** Builds a CASE expression; `w(field)` is the field's weight in this sum, `calls` whether to call JavaScript. */
type CodeBuilder = (w: (field: string) => string, calls: boolean) => string;

/** One or more `sum(code) FILTER (WHERE filter)`: the JavaScript calls go into the first only. */
function packedSums(fields: string[], p: Packing, filter: string | null, code: CodeBuilder): string[] {
  const sums: string[] = [];
  for (let start = 0; start < fields.length; start += p.perSum) {
    const group = fields.slice(start, start + p.perSum);
    const w = (field: string) => (group.includes(field) ? (p.base ** BigInt(group.indexOf(field))).toString() : '0');
    sums.push(`sum(${code(w, start === 0)})${filter === null ? '' : ` FILTER (WHERE ${filter})`}`);
  }
  return sums;
}

/** Splits sums of packedSums back into counters; null when a sum is not an integer (a REAL was added). */
function unpack(fields: string[], p: Packing, cells: unknown[]): Record<string, number> | null {
  const out: Record<string, number> = {};
  for (let start = 0; start < fields.length; start += p.perSum) {
    let cell = cells[start / p.perSum] ?? 0n;
    if (typeof cell !== 'bigint') return null;
    for (const field of fields.slice(start, start + p.perSum)) {
      out[field] = Number(cell % p.base);
      cell /= p.base;
    }
  }
  return out;
}

/** A column's value without affinity and with byte-wise comparisons (its declared collation may be unknown here). */
const plainValue = (expr: string) => `(+${expr} COLLATE BINARY)`;

const X80 = `CAST(x'80' AS TEXT)`;
const WHITESPACE = `' ' || char(9, 10, 11, 12, 13)`;
/** Texts (of a UTF-8 database) whose first byte is a digit, `[` or `{`, or at most a space (or empty). */
const startsWithDigit = (v: string) => `(${v} >= '0' AND ${v} < ':')`;
const startsWithBracket = (v: string) => `((${v} >= '[' AND ${v} < '\\') OR (${v} >= '{' AND ${v} < '|'))`;
const startsWithSpace = (v: string) => `(${v} >= '' AND ${v} < '!')`;
const isText = (v: string) => `${v} >= '' AND ${v} < x''`;

/**
 * The ints-in-{0,1} and other-ints counters of a column without REALs: `v * 0` is 0, or 0.0 for a REAL, which
 * makes the sum a REAL (an infinity adds nothing, its NaN being NULL, but is then the min or the max).
 */
const NUMBER_FIELDS = ['others', 'zeroOne'];
const numberCode =
  (v: string): CodeBuilder =>
  (w) =>
    `${v} * 0 + CASE WHEN ${v} IN (0, 1) THEN ${w('zeroOne')} ELSE ${w('others')} END`;

/** INTEGERs in {0,1}, other INTEGERs and REALs, by typeof() (`c` the value, `v` it without affinity). */
const REAL_FIELDS = ['others', 'zeroOne', 'reals'];
const realCode =
  (c: string, v: string): CodeBuilder =>
  (w) =>
    `CASE typeof(${c}) WHEN 'integer' THEN CASE WHEN ${v} IN (0, 1) THEN ${w('zeroOne')} ELSE ${w('others')} END
      WHEN 'real' THEN ${w('reals')} END`;

// ---------------------------------------------------------------------------------------------------------
// The exact per-value path: every value decided by SQL, or handed to JavaScript one by one

/** SQL text pieces for one column of the exact path. */
interface ExactColumn {
  v: string;
  /** Column position, the key of its tally. */
  col: number;
  utf16: boolean;
}

/**
 * Pure ASCII without NUL: first byte below 0x80, no continuation byte after it (instr() steps over them, so it
 * finds the appended NUL one place early per such byte, or finds an inner NUL), and no lone lead byte (GLOB
 * reads one as U+FFFD; a real U+FFFD has continuation bytes).
 */
const isAsciiSql = (v: string) =>
  `(${v} < ${X80} AND instr(${v} || char(0), char(0)) = octet_length(${v}) + 1 AND NOT ${v} GLOB '*\uFFFD*')`;

/** Hands the text to JavaScript (which profiles it); 0 in the sums. */
const handOver = (c: ExactColumn, calls: boolean) =>
  !calls ? '0' : `dbops_text(${c.col}, ${c.v}, ${c.utf16 ? 'NULL' : `CAST(${c.v} AS BLOB)`})`;

/** A text of no special kind: 0, once its bytes are known to be valid UTF-8 without NUL (else handed over). */
const plainText = (c: ExactColumn, calls: boolean) =>
  !calls ? '0' : `CASE WHEN ${isAsciiSql(c.v)} OR dbops_utf8(${c.col}, ${c.v}) THEN 0 ELSE ${handOver(c, true)} END`;

/** Counts texts, blobs and booleans; validates the texts no other sum looks at. */
const TEXT_FIELDS = ['texts', 'bools', 'blobs'];
const textCode =
  (c: ExactColumn): CodeBuilder =>
  (w, calls) => {
    const { v } = c;
    if (c.utf16) return `CASE WHEN ${v} >= x'' THEN ${w('blobs')} ELSE ${w('texts')} + ${handOver(c, calls)} END`;
    return `CASE WHEN ${v} >= x'' THEN ${w('blobs')}
      WHEN ${startsWithDigit(v)} OR ${startsWithBracket(v)} OR ${v} < '!' THEN ${w('texts')}
      WHEN ${v} COLLATE NOCASE IN ('t', 'f', 'true', 'false') THEN ${w('texts')} + ${w('bools')}
      ELSE ${w('texts')} + ${plainText(c, calls)} END`;
  };

/** `[+-]HH:MM` with HH ≤ 15, MM ≤ 59. */
const isOffset = (s: string) =>
  `(${s} GLOB '[+-][0-9][0-9]:[0-9][0-9]' AND substr(${s}, 2, 2) <= '15' AND substr(${s}, 5, 2) <= '59')`;

/**
 * Texts starting with a digit: dates and timestamps. date() and datetime() give back exactly their input for
 * a valid 'YYYY-MM-DD[ HH:MM:SS]' (they normalise 02-30 to 03-02; year 0000 and hour 24 are checked apart).
 * The ISO forms with T, a 1–6 digit fraction, Z or ±HH:MM are checked on their parts; any other text that
 * starts with a valid date goes to JavaScript.
 */
const TIMESTAMP_FIELDS = ['dates', 'naive', 'zoned'];
const timestampCode =
  (c: ExactColumn): CodeBuilder =>
  (w, calls) => {
    const { v } = c;
    const js = handOver(c, calls);
    const core = (hhmmss: string) =>
      `datetime(substr(${v}, 1, 10) || ' ' || ${hhmmss}) IS substr(${v}, 1, 10) || ' ' || ${hhmmss}`;
    const digits = `ltrim(substr(${v}, 21), '0123456789')`;
    const fraction = `CASE WHEN octet_length(${v}) - 20 - octet_length(${digits}) NOT BETWEEN 1 AND 6 THEN ${js}
        WHEN ${digits} = '' THEN ${w('naive')}
        WHEN ${digits} IN ('Z', 'z') OR ${isOffset(digits)} THEN ${w('zoned')}
        ELSE ${js} END`;
    const tail = `substr(${v}, 20)`;
    const iso = `CASE WHEN length(${v}) <> octet_length(${v}) OR substr(${v}, 11, 1) NOT IN (' ', 'T', 't')
          OR substr(${v}, 12, 2) > '23' THEN ${js}
        WHEN octet_length(${v}) = 16 THEN CASE WHEN ${core(`substr(${v}, 12, 5) || ':00'`)} THEN ${w('naive')} ELSE ${js} END
        WHEN NOT (${core(`substr(${v}, 12, 8)`)}) THEN ${js}
        WHEN octet_length(${v}) = 19 THEN ${w('naive')}
        WHEN ${tail} IN ('Z', 'z') OR ${isOffset(tail)} THEN ${w('zoned')}
        WHEN substr(${v}, 20, 1) = '.' THEN ${fraction}
        ELSE ${js} END`;
    return `CASE WHEN substr(${v}, 5, 1) <> '-' THEN ${plainText(c, calls)}
      WHEN datetime(${v}) = ${v} THEN CASE WHEN ${v} < '0001' OR substr(${v}, 12, 2) > '23' THEN 0 ELSE ${w('naive')} END
      WHEN date(${v}) = ${v} THEN CASE WHEN ${v} < '0001' THEN 0 ELSE ${w('dates')} END
      WHEN ${v} < '0001' OR date(substr(${v}, 1, 10)) IS NOT substr(${v}, 1, 10) THEN ${plainText(c, calls)}
      ELSE ${iso} END`;
  };

/**
 * Texts starting with `[`, `{` or whitespace: JSON containers. For valid UTF-8 without NUL up to 2001 bytes
 * (too short to nest past json_valid()'s depth limit of 1000), json_valid() accepts exactly what JSON.parse
 * accepts; longer rejected texts go to JavaScript.
 */
const JSON_FIELDS = ['json'];
const jsonContainerCode = (v: string, w: (field: string) => string, longOnes: string) =>
  `CASE WHEN json_valid(${v}) THEN CASE WHEN ${v} LIKE '%\\u0000%' THEN 0 ELSE ${w('json')} END
    WHEN octet_length(${v}) <= 2001 THEN 0 ELSE ${longOnes} END`;
const jsonCode =
  (c: ExactColumn): CodeBuilder =>
  (w, calls) => {
    const { v } = c;
    const js = handOver(c, calls);
    const json = `CASE WHEN NOT (${isAsciiSql(v)} OR dbops_utf8(${c.col}, ${v})) THEN ${js}
      ELSE ${jsonContainerCode(v, w, js)} END`;
    // After leading whitespace: JSON; a digit or a non-ASCII character (JavaScript trims more whitespace)
    // goes to JavaScript; anything else is plain.
    const first = `unicode(ltrim(${v}, ${WHITESPACE}))`;
    return `CASE WHEN ${v} >= '!' THEN ${json}
      ELSE CASE ${first} WHEN 123 THEN ${json} WHEN 91 THEN ${json}
        ${[48, 49, 50, 51, 52, 53, 54, 55, 56, 57].map((d) => `WHEN ${d} THEN ${js}`).join(' ')}
        ELSE CASE WHEN ${first} >= 128 THEN ${js} ELSE ${plainText(c, calls)} END END END`;
  };

// ---------------------------------------------------------------------------------------------------------
// Column kinds: the aggregates of one column in the profile pass, and how to read them

/** What the profile pass found for one column. */
interface Found {
  /** Counters by field name (packed sums). */
  counts: Record<string, number>;
  numMin: unknown;
  numMax: unknown;
  /** The column holds REAL values: their counters come from `digits` and `counts`, or a follow-up in scan order. */
  reals: boolean;
  /** Digits of the numbers, when the pass read them in the profile's scan order. */
  digits: Digits | null;
  textMax: number;
  blobMax: number;
  scan: TextScan | null;
  /** Not the kind the sample suggested: profile it again on the exact path. */
  misjudged: boolean;
}

/**
 * One column's share of the profile pass. `aggregates` are its SQL expressions; `read` folds their values for
 * one chunk of `rows` rows into `found`.
 */
interface ColumnPlan {
  aggregates: string[];
  /** It holds the column's texts in memory: the pass then reads the table in chunks. */
  concatenates?: boolean;
  read(cells: unknown[], found: Found, rows: number): void;
}

/** Keeps the smaller / larger of two values of one type (BigInt or number); a mix of types marks REALs. */
function fold(found: Found, key: 'numMin' | 'numMax', value: unknown): void {
  if (value === null || value === undefined) return;
  const current = found[key];
  if (current === null) found[key] = value;
  else if (typeof current !== typeof value) found.reals = true;
  else if (key === 'numMin' ? (value as number) < (current as number) : (value as number) > (current as number))
    found[key] = value;
}

function addCounts(found: Found, counts: Record<string, number> | null): void {
  if (counts === null) return;
  for (const [k, n] of Object.entries(counts)) found.counts[k] = (found.counts[k] ?? 0) + n;
}

/**
 * INTEGER values only: min, max and one packed sum; a TEXT or BLOB would be the max, a REAL makes the sum real.
 * A column that leads an index has its min and max read off the index afterwards (see indexedRange).
 */
function integerPlan(v: string, p: Packing, indexed: boolean): ColumnPlan {
  const range = indexed ? [] : [`min(${v})`, `max(${v})`];
  return {
    aggregates: [...range, ...packedSums(NUMBER_FIELDS, p, null, numberCode(v))],
    read(cells, found) {
      const [min, max, ...sums] = indexed ? [null, null, ...cells] : cells;
      const counts = unpack(NUMBER_FIELDS, p, sums);
      if ((min !== null && typeof min !== 'bigint') || (max !== null && typeof max !== 'bigint') || !counts) {
        found.misjudged = true;
        return;
      }
      fold(found, 'numMin', min);
      fold(found, 'numMax', max);
      addCounts(found, counts);
    },
  };
}

/**
 * INTEGER and REAL values, counted by typeof(); no TEXT or BLOB would be the max. Their digits need JavaScript in
 * scan order: here when the pass reads the table in that order (`inOrder`), else in a follow-up.
 */
function realPlan(v: string, p: Packing, inOrder: boolean): ColumnPlan {
  const digits = inOrder ? [`dbops_digits(${v}) FILTER (WHERE ${v} < '')`] : [];
  return {
    aggregates: [`max(${v})`, ...digits, ...packedSums(REAL_FIELDS, p, null, realCode(v, v))],
    read(cells, found) {
      const [max, ...rest] = cells;
      if (max !== null && typeof max !== 'bigint' && typeof max !== 'number') found.misjudged = true;
      found.reals = true;
      if (inOrder) found.digits = laterDigits(found.digits ?? noDigits(), JSON.parse(rest.shift() as string) as Digits);
      addCounts(found, unpack(REAL_FIELDS, p, rest));
    },
  };
}

/** Digits of numbers read before, then of later ones: a later value is reported only for more digits. */
function laterDigits(before: Digits, later: Digits): Digits {
  const int = later.maxIntDigits > before.maxIntDigits ? later : before;
  const frac = later.maxFracDigits > before.maxFracDigits ? later : before;
  return {
    maxIntDigits: int.maxIntDigits,
    maxIntDigitsValue: int.maxIntDigitsValue,
    maxFracDigits: frac.maxFracDigits,
    maxFracDigitsValue: frac.maxFracDigitsValue,
  };
}

/** Texts longer than this are profiled one by one, so a chunk holds at most this many bytes per row. */
const LONG_TEXT = 4096;

/**
 * TEXT values only: all of them up to LONG_TEXT bytes, concatenated with NUL separators, for the bulk scan; any
 * other value arrives as a byte 0xFF (never valid UTF-8), a longer text goes to JavaScript alone. JSON columns
 * also count their containers in SQL. A NOT NULL column needs no count: every row holds a value (a NULL there
 * would still show, as one text too few).
 */
function textPlan(v: string, json: boolean, column: SourceColumn, col: number, tally: () => TextTally): ColumnPlan {
  const long = `nullif(dbops_text(${col}, ${v}, CAST(${v} AS BLOB)), 0)`;
  const values = `CAST(group_concat(CASE WHEN ${v} < '' OR ${v} >= x'' THEN x'ff'
    WHEN octet_length(${v}) > ${LONG_TEXT} THEN ${long} ELSE ${v} END, char(0)) AS BLOB)`;
  // Longer texts are classified in JavaScript (see jsonCode).
  const short = `${startsWithBracket(v)} AND octet_length(${v}) <= 2001`;
  const jsonSum = `count(*) FILTER (WHERE ${short} AND json_valid(${v}) AND NOT ${v} LIKE '%\\u0000%')`;
  const count = column.notNull ? [] : [`count(${v})`];
  let handed = 0;
  return {
    aggregates: [...count, values, ...(json ? [jsonSum] : [])],
    concatenates: true,
    read(cells, found, rows) {
      const [values, chunk, containers] = (column.notNull ? [rows, ...cells] : cells) as [
        bigint | number,
        Buffer | null,
        bigint | null,
      ];
      const scan = (found.scan ??= { ...emptyTally(), texts: 0, unusual: false });
      const before = scan.texts + handed;
      if (chunk !== null) scanChunk(scan, chunk, json);
      handed = tally().handed;
      // A NUL byte inside a text splits it in two.
      if (scan.texts + handed - before !== Number(values)) scan.unusual = true;
      found.misjudged ||= scan.unusual;
      found.counts.json = (found.counts.json ?? 0) + Number(containers ?? 0);
    },
  };
}

/** Any values: the exact per-value path. */
function exactPlan(c: ExactColumn, p: Packing): ColumnPlan {
  const { v } = c;
  const number = packedSums(NUMBER_FIELDS, p, `${v} < ''`, numberCode(v));
  const text = packedSums(TEXT_FIELDS, p, `${v} >= ''`, textCode(c));
  const stamps = c.utf16 ? [] : packedSums(TIMESTAMP_FIELDS, p, startsWithDigit(v), timestampCode(c));
  const json = c.utf16
    ? []
    : packedSums(JSON_FIELDS, p, `${startsWithBracket(v)} OR ${startsWithSpace(v)}`, jsonCode(c));
  return {
    aggregates: [
      `min(${v}) FILTER (WHERE ${v} < '')`,
      `max(${v}) FILTER (WHERE ${v} < '')`,
      ...number,
      `max(octet_length(${v})) FILTER (WHERE ${v} >= x'')`,
      c.utf16 ? 'NULL' : `max(octet_length(${v})) FILTER (WHERE ${isText(v)})`,
      ...text,
      ...stamps,
      ...json,
    ],
    read(cells, found) {
      let at = 0;
      const take = (n: number) => cells.slice(at, (at += n));
      const [min, max] = take(2);
      fold(found, 'numMin', min);
      fold(found, 'numMax', max);
      const counts = unpack(NUMBER_FIELDS, p, take(number.length));
      if (typeof min === 'number' || typeof max === 'number' || counts === null) found.reals = true;
      else addCounts(found, counts);
      const [blobMax, textMax] = take(2).map((n) => Number(n ?? 0)) as [number, number];
      found.blobMax = Math.max(found.blobMax, blobMax);
      found.textMax = Math.max(found.textMax, textMax);
      addCounts(found, unpack(TEXT_FIELDS, p, take(text.length)));
      addCounts(found, unpack(TIMESTAMP_FIELDS, p, take(stamps.length)));
      addCounts(found, unpack(JSON_FIELDS, p, take(json.length)));
    },
  };
}

type Kind = 'key' | 'integer' | 'real' | 'text' | 'json' | 'exact';

/**
 * The rowid alias, or the all-INTEGER leading key of a WITHOUT ROWID table: discovery read its range, every
 * row has one, so the pass needs nothing from it.
 */
function isKeyColumn(db: Database.Database, table: SourceTable, name: string): boolean {
  if (table.withoutRowid) return table.keyRange?.column === name;
  if (table.rowidAlias !== name || !rowidRange(table)) return false;
  // `INTEGER PRIMARY KEY DESC` is no alias: make sure the planner looks the column up as the rowid.
  const plan = db
    .prepare(`EXPLAIN QUERY PLAN SELECT 1 FROM ${quoteIdent(table.name)} WHERE ${quoteIdent(name)} COLLATE BINARY = 1`)
    .all() as { detail: string }[];
  return plan.some((r) => r.detail.includes('INTEGER PRIMARY KEY'));
}

/** A key column's counters: its range from discovery, its 0s and 1s looked up. */
function keyFound(db: Database.Database, table: SourceTable, name: string, rows: number): Found {
  const range = table.withoutRowid ? table.keyRange : rowidRange(table);
  const q = quoteIdent(name);
  const sql = `SELECT count(*) FROM ${quoteIdent(table.name)} WHERE ${q} COLLATE BINARY IN (0, 1)`;
  const zeroOne = db.prepare(sql).pluck().get();
  return {
    ...emptyFound(),
    counts: { zeroOne: Number(zeroOne), others: rows - Number(zeroOne) },
    numMin: range ? BigInt(range.min) : null,
    numMax: range ? BigInt(range.max) : null,
  };
}

/**
 * The kind of each column, from the storage classes in the first rows (a JSON column has a `[` or `{` text
 * among them). TEXT kinds need a chunk key (their values are held in memory chunk by chunk) and UTF-8.
 */
function sampleKinds(db: Database.Database, table: SourceTable, names: string[], bulkText: boolean): Kind[] {
  const probes = names.map((n) => {
    const v = plainValue(quoteIdent(n));
    return `CASE WHEN ${startsWithBracket(v)} THEN 'json' ELSE typeof(${v}) END`;
  });
  const sql = `SELECT ${probes.join(', ')} FROM ${quoteIdent(table.name)} NOT INDEXED LIMIT 1000`;
  const rows = db.prepare(sql).raw(true).all() as string[][];
  return names.map((name, i) => {
    if (isKeyColumn(db, table, name)) return 'key';
    const seen = new Set(rows.map((r) => r[i] ?? 'null'));
    seen.delete('null');
    const only = (...allowed: string[]) => seen.size > 0 && [...seen].every((t) => allowed.includes(t));
    if (only('integer')) return 'integer';
    if (only('integer', 'real')) return 'real';
    if (bulkText && only('text', 'json')) return seen.has('json') ? 'json' : 'text';
    return 'exact';
  });
}

function planFor(
  kind: Kind,
  db: Database.Database,
  table: SourceTable,
  column: SourceColumn,
  col: number,
  p: Packing,
  utf16: boolean,
  inOrder: boolean,
): ColumnPlan {
  const v = plainValue(quoteIdent(column.name));
  if (kind === 'key') return { aggregates: [], read: () => undefined };
  if (kind === 'integer') return integerPlan(v, p, leadsIndex(table, column.name));
  if (kind === 'real') return realPlan(v, p, inOrder);
  if (kind === 'text' || kind === 'json') return textPlan(v, kind === 'json', column, col, () => tallyOf(db, col));
  return exactPlan({ v, col, utf16 }, p);
}

/** The column leads an index over all rows (with a built-in collation): its min and max are a look-up each. */
function leadsIndex(table: SourceTable, name: string): boolean {
  return table.indexes.some(
    (ix) =>
      ix.where === null &&
      ix.parts[0]?.column === name &&
      ['BINARY', 'NOCASE', 'RTRIM'].includes(ix.parts[0].collation.toUpperCase()),
  );
}

/** Min and max of a column that leads an index (the optimizer reads each off one end of it). */
function indexedRange(db: Database.Database, table: SourceTable, name: string, found: Found): void {
  const c = `${quoteIdent(name)} COLLATE BINARY`;
  const from = quoteIdent(table.name);
  const [min, max] = db
    .prepare(`SELECT (SELECT min(${c}) FROM ${from}), (SELECT max(${c}) FROM ${from})`)
    .raw(true)
    .safeIntegers(true)
    .get() as unknown[];
  if ((min !== null && typeof min !== 'bigint') || (max !== null && typeof max !== 'bigint')) found.misjudged = true;
  else Object.assign(found, { numMin: min, numMax: max });
}

function emptyFound(): Found {
  return {
    counts: {},
    numMin: null,
    numMax: null,
    reals: false,
    digits: null,
    textMax: 0,
    blobMax: 0,
    scan: null,
    misjudged: false,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The pass

/** Discovery's rowid range, unless a column named rowid took the name (the range is then that column's). */
function rowidRange(table: SourceTable): SourceTable['rowidRange'] {
  if (table.withoutRowid || table.columns.some((c) => c.name.toLowerCase() === 'rowid')) return null;
  return table.rowidRange;
}

/** A key to read the table in ranges by: the rowid, or an all-INTEGER leading primary-key column. */
interface ChunkKey {
  expr: string;
  min: bigint;
  max: bigint;
  /** One row per key value. */
  unique: boolean;
}

function chunkKey(table: SourceTable): ChunkKey | null {
  const range = rowidRange(table);
  if (range) return { expr: 'rowid', min: BigInt(range.min), max: BigInt(range.max), unique: true };
  if (!table.withoutRowid || !table.keyRange) return null;
  return {
    expr: quoteIdent(table.keyRange.column),
    min: BigInt(table.keyRange.min),
    max: BigInt(table.keyRange.max),
    unique: table.columns.filter((c) => c.pkPosition > 0).length === 1,
  };
}

/** Concatenated text a chunk may hold: at most LONG_TEXT bytes per row and text column, this in all. */
const CHUNK_BYTES = 4 << 20;

/** One value of the chunk key holds more rows than a chunk may: the table's texts take the exact path. */
class ChunkTooLarge extends Error {}

/**
 * Key ranges of at most `cap` rows each. A range of a unique key holds at most as many rows as it spans; a
 * wider one (a sparse key) or one of a shared key is counted first, and halved until it fits. Each `next`
 * receives the rows the previous range held.
 */
function* keyRanges(
  db: Database.Database,
  table: SourceTable,
  key: ChunkKey,
  cap: number,
): Generator<[bigint, bigint], void, number> {
  const from = `${quoteIdent(table.name)} NOT INDEXED`;
  const count = db.prepare(`SELECT count(*) FROM ${from} WHERE ${key.expr} BETWEEN ? AND ?`).pluck().safeIntegers(true);
  const after = db.prepare(`SELECT min(${key.expr}) FROM ${from} WHERE ${key.expr} > ?`).pluck().safeIntegers(true);
  let span = BigInt(cap);
  for (let lo: bigint | null = key.min; lo !== null && lo <= key.max;) {
    let hi: bigint = lo + span - 1n < key.max ? lo + span - 1n : key.max;
    if (!key.unique || span > BigInt(cap))
      while ((count.get(lo, hi) as bigint) > BigInt(cap)) {
        if (hi === lo) throw new ChunkTooLarge();
        hi = lo + (hi - lo) / 2n;
      }
    const rows = yield [lo, hi];
    // Aim the next range at about cap rows, by the keys per row of this one (a wider range is counted first).
    const perRow = Number(hi - lo + 1n) / Math.max(rows, 1);
    span = BigInt(Math.max(1, Math.floor(perRow * cap * (key.unique ? 1 : 0.8))));
    lo = hi < key.max ? (after.get(hi) as bigint | null) : null;
  }
}

/** Result columns per query: SQLite allows 2000, so a very wide table takes several passes. */
const MAX_AGGREGATES = 1000;

/** Runs the plans over the whole table, in as many queries as its width needs. Returns the row count. */
function runPass(db: Database.Database, table: SourceTable, plans: ColumnPlan[], found: Found[]): number {
  let rows = 0;
  let first = 0;
  do {
    let last = first;
    let width = 0;
    while (last < plans.length && (last === first || width + plans[last]!.aggregates.length <= MAX_AGGREGATES))
      width += plans[last++]!.aggregates.length;
    rows = runQuery(db, table, plans.slice(first, last), found.slice(first, last));
    first = last;
  } while (first < plans.length);
  return rows;
}

/** One query of runPass; when a plan holds texts in memory, in key ranges that bound them. */
function runQuery(db: Database.Database, table: SourceTable, plans: ColumnPlan[], found: Found[]): number {
  const aggregates = ['count(*)', ...plans.flatMap((p) => p.aggregates)];
  // Never an index: the pass needs no order, and an index may use a collation this connection lacks.
  const sql = `SELECT ${aggregates.join(',\n')} FROM ${quoteIdent(table.name)} NOT INDEXED`;
  const readRow = (row: unknown[]) => {
    let at = 1;
    const rows = Number(row[0]);
    plans.forEach((plan, i) => plan.read(row.slice(at, (at += plan.aggregates.length)), found[i]!, rows));
    return rows;
  };
  const texts = plans.filter((p) => p.concatenates).length;
  const key = texts > 0 ? chunkKey(table) : null;
  if (!key) return readRow(db.prepare(sql).raw(true).safeIntegers(true).get() as unknown[]);
  const stmt = db.prepare(`${sql} WHERE ${key.expr} BETWEEN ? AND ?`).raw(true).safeIntegers(true);
  const ranges = keyRanges(db, table, key, Math.max(1, Math.floor(CHUNK_BYTES / (LONG_TEXT * texts))));
  let rows = 0;
  for (let range = ranges.next(0); !range.done;) {
    const n = readRow(stmt.get(...range.value) as unknown[]);
    rows += n;
    range = ranges.next(n);
  }
  return rows;
}

/** A profile per column (generated columns excluded), from one pass over the table and targeted follow-ups. */
export function profileTable(
  db: Database.Database,
  table: SourceTable,
  encoding = 'UTF-8',
): Record<string, ColumnProfile> {
  const utf16 = encoding.toUpperCase().startsWith('UTF-16');
  const columns = table.columns.filter((c) => c.hidden === 0);
  if (columns.length === 0) return {};
  const p = packing(table.rowCount);
  const byColumn = new Map<number, TextTally>();
  tallies.set(db, byColumn);
  let pass: Passes;
  try {
    pass = runPasses(db, table, columns, p, utf16);
  } finally {
    tallies.delete(db);
  }
  // The packing assumed the row count discovery found (and key columns its ranges): they must still hold.
  if (pass.rows !== table.rowCount)
    return profileTable(db, { ...table, rowCount: pass.rows, rowidRange: null, keyRange: null }, encoding);
  const names = columns.map((c) => c.name);
  const order = new ScanOrder(db, table, names, pass.kinds);
  return Object.fromEntries(
    columns.map((c, i) => {
      const tally = byColumn.get(i) ?? emptyTally();
      const profile = buildProfile(db, table, i, pass.rows, pass.found[i]!, tally, order, p, utf16);
      addBadRowKeys(db, table, profile, quoteIdent(c.name), utf16);
      return [c.name, profile];
    }),
  );
}

/** What the passes over a table found: its row count, and the kind and findings of each column. */
interface Passes {
  rows: number;
  kinds: Kind[];
  found: Found[];
}

/** The passes over a table; without bulk text scans when a key value holds too many rows to chunk by. */
function runPasses(
  db: Database.Database,
  table: SourceTable,
  columns: SourceColumn[],
  p: Packing,
  utf16: boolean,
): Passes {
  try {
    return passes(db, table, columns, p, utf16, !utf16 && chunkKey(table) !== null);
  } catch (err) {
    if (!(err instanceof ChunkTooLarge)) throw err;
    tallies.get(db)?.clear();
    return passes(db, table, columns, p, utf16, false);
  }
}

/** The profile pass, the look-ups of key and indexed columns, and the misjudged columns on the exact path. */
function passes(
  db: Database.Database,
  table: SourceTable,
  columns: SourceColumn[],
  p: Packing,
  utf16: boolean,
  bulkText: boolean,
): Passes {
  const names = columns.map((c) => c.name);
  const kinds = sampleKinds(db, table, names, bulkText);
  const found = names.map(emptyFound);
  // The pass reads the table itself, by ascending key: the profile's scan order, if that was a table scan.
  const keyDesc = table.indexes.find((ix) => ix.origin === 'pk')?.parts[0]?.desc === true;
  const inOrder = scansTable(db, table, names) && !(table.withoutRowid && keyDesc);
  const plans = kinds.map((kind, i) => planFor(kind, db, table, columns[i]!, i, p, utf16, inOrder));
  const rows = runPass(db, table, plans, found);
  if (rows !== table.rowCount) return { rows, kinds, found };
  kinds.forEach((kind, i) => {
    if (kind === 'key') found[i] = keyFound(db, table, names[i]!, rows);
    else if (kind === 'integer' && !found[i]!.misjudged && leadsIndex(table, names[i]!))
      indexedRange(db, table, names[i]!, found[i]!);
  });
  const redo = kinds.map((_, i) => i).filter((i) => found[i]!.misjudged);
  if (redo.length > 0) {
    for (const i of redo) {
      found[i] = emptyFound();
      tallies.get(db)?.delete(i);
    }
    const exact = redo.map((i) => exactPlan({ v: plainValue(quoteIdent(names[i]!)), col: i, utf16 }, p));
    runPass(
      db,
      table,
      exact,
      redo.map((i) => found[i]!),
    );
  }
  return { rows, kinds, found };
}

/** The profile's own query over all the columns reads the table itself (no covering index): in key order. */
function scansTable(db: Database.Database, table: SourceTable, names: string[]): boolean {
  const list = names.map((n) => quoteIdent(n)).join(', ');
  const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT ${list} FROM ${quoteIdent(table.name)}`).all() as {
    detail: string;
  }[];
  return plan.length === 1 && plan[0]?.detail === `SCAN ${table.name}`;
}

/**
 * Reads one column in the order the profile always saw the table: the same columns selected from the same
 * table make the planner pick the same scan (a covering index included), so "the first value with the most
 * digits" stays the same value. A plain table scan reads the column alone.
 */
class ScanOrder {
  private readonly source: (col: number) => string;
  private readonly from: string;
  /** A key column read in its own ascending order. */
  private readonly ascending: (col: number) => boolean;
  constructor(
    private readonly db: Database.Database,
    table: SourceTable,
    private readonly names: string[],
    kinds: Kind[],
  ) {
    const from = (this.from = quoteIdent(table.name));
    const list = names.map((n, i) => `${quoteIdent(n)} AS c${i}`).join(', ');
    const tableScan = scansTable(db, table, names);
    const keyDesc = table.indexes.find((ix) => ix.origin === 'pk')?.parts[0]?.desc === true;
    this.ascending = (col) => tableScan && kinds[col] === 'key' && !(table.withoutRowid && keyDesc);
    this.source = (col) =>
      tableScan
        ? `(SELECT ${quoteIdent(names[col]!)} AS c${col} FROM ${from} NOT INDEXED)`
        : `(SELECT ${list} FROM ${from} LIMIT -1 OFFSET 0)`;
  }

  /**
   * The first number whose double reaches `threshold` in absolute value, as a JavaScript number (`min` the
   * column's smallest: in a key read in ascending order, it comes first).
   */
  firstReaching(col: number, threshold: number, min: bigint): number | null {
    if (this.ascending(col) && threshold <= Number.MAX_SAFE_INTEGER) {
      if (Number(min) <= -threshold) return Number(min);
      const q = `${quoteIdent(this.names[col]!)} COLLATE BINARY`;
      const sql = `SELECT min(${q}) FROM ${this.from} WHERE ${q} >= ?`;
      const found = this.db.prepare(sql).pluck().safeIntegers(true).get(BigInt(threshold)) as bigint | null;
      return found === null ? null : Number(found);
    }
    const v = plainValue(`c${col}`);
    const found = this.db
      .prepare(`SELECT c${col} FROM ${this.source(col)} WHERE ${v} < '' AND abs(CAST(${v} AS REAL)) >= ? LIMIT 1`)
      .pluck()
      .get(threshold) as number | undefined;
    return found ?? null;
  }

  /** Counters by typeof() of a column that holds REAL values, and its digits in scan order. */
  numbers(col: number, p: Packing): { counts: Record<string, number>; digits: Digits } {
    const c = `c${col}`;
    const v = plainValue(c);
    const sums = packedSums(REAL_FIELDS, p, null, realCode(c, v));
    const row = this.db
      .prepare(`SELECT dbops_digits(${c}) FILTER (WHERE ${v} < ''), ${sums.join(', ')} FROM ${this.source(col)}`)
      .raw(true)
      .safeIntegers(true)
      .get() as [string, ...unknown[]];
    return { counts: unpack(REAL_FIELDS, p, row.slice(1)) ?? {}, digits: JSON.parse(row[0]) as Digits };
  }

  /** Smallest and largest INTEGER of a column that also holds REALs. */
  integerRange(col: number): [string, string] {
    const q = quoteIdent(this.names[col]!);
    const v = plainValue(q);
    const [min, max] = this.db
      .prepare(`SELECT min(${v}), max(${v}) FROM ${this.from} NOT INDEXED WHERE typeof(${q}) = 'integer'`)
      .raw(true)
      .safeIntegers(true)
      .get() as [bigint, bigint];
    return [min.toString(), max.toString()];
  }
}

type NumberProfile = Pick<ColumnProfile, 'integers' | 'reals' | 'intMin' | 'intMax' | 'intsNot01'> & Digits;

/**
 * INTEGER and REAL counters. Without REALs the pass's sums, min and max say it all: an integer's digit count
 * grows with its size, so the widest is the min or the max (as the double JavaScript reads), and only the
 * first value in scan order that has as many digits needs a look-up. REALs go through JavaScript one by one.
 */
function numberProfile(col: number, found: Found, order: ScanOrder, p: Packing): NumberProfile {
  if (found.reals) {
    const { counts, digits } = found.digits ? { counts: found.counts, digits: found.digits } : order.numbers(col, p);
    const zeroOne = counts.zeroOne ?? 0;
    const integers = zeroOne + (counts.others ?? 0);
    const range = integers > 0 ? order.integerRange(col) : null;
    return {
      integers,
      reals: counts.reals ?? 0,
      intMin: range?.[0] ?? null,
      intMax: range?.[1] ?? null,
      intsNot01: integers - zeroOne,
      ...digits,
    };
  }
  if (found.numMin === null) return { integers: 0, reals: 0, intMin: null, intMax: null, intsNot01: 0, ...noDigits() };
  const zeroOne = found.counts.zeroOne ?? 0;
  const integers = zeroOne + (found.counts.others ?? 0);
  const maxIntDigits = Math.max(...[found.numMin, found.numMax].map((n) => decimalDigits(Number(n)).int));
  const first = maxIntDigits > 0 ? order.firstReaching(col, 10 ** (maxIntDigits - 1), found.numMin as bigint) : null;
  return {
    integers,
    reals: 0,
    intMin: String(found.numMin),
    intMax: String(found.numMax),
    intsNot01: integers - zeroOne,
    ...noDigits(),
    maxIntDigits,
    maxIntDigitsValue: first === null ? null : String(first),
  };
}

/** The bulk scan's findings and those of the texts profiled one by one, together. */
function mergeTallies(a: TextTally, b: TextTally): TextTally {
  const sum = (k: keyof TextTally) => (a[k] as number) + (b[k] as number);
  return {
    textBooleans: sum('textBooleans'),
    jsonContainers: sum('jsonContainers'),
    timestamps: sum('timestamps'),
    dates: sum('dates'),
    zonedTimestamps: sum('zonedTimestamps'),
    nulTexts: sum('nulTexts'),
    invalidUtf8: sum('invalidUtf8'),
    maxTextChars: Math.max(a.maxTextChars, b.maxTextChars),
    maxValueBytes: Math.max(a.maxValueBytes, b.maxValueBytes),
    nonAscii: a.nonAscii || b.nonAscii,
    handed: sum('handed'),
  };
}

/** Assembles a column's profile from the pass, the JavaScript tallies and follow-up queries. */
function buildProfile(
  db: Database.Database,
  table: SourceTable,
  col: number,
  rows: number,
  found: Found,
  tally: TextTally,
  order: ScanOrder,
  p: Packing,
  utf16: boolean,
): ColumnProfile {
  const numbers = numberProfile(col, found, order, p);
  const t = found.scan ? mergeTallies(found.scan, tally) : tally;
  const { counts } = found;
  const texts = found.scan ? found.scan.texts + tally.handed : (counts.texts ?? 0);
  const blobs = counts.blobs ?? 0;
  // SQL's length() and byte count never exceed JavaScript's for the texts it handed over (JavaScript sees
  // U+FFFD, 3 bytes, where SQL saw one invalid byte; length() stops at a NUL): the larger figure is right.
  // Without a non-ASCII text, a text's byte count is its character count.
  let maxTextChars = t.maxTextChars;
  if (!found.scan && !utf16)
    maxTextChars = Math.max(maxTextChars, t.nonAscii ? textCharsMax(db, table, col) : found.textMax);
  return {
    nulls: rows - numbers.integers - numbers.reals - texts - blobs,
    ...numbers,
    texts,
    blobs,
    textBooleans: (counts.bools ?? 0) + t.textBooleans,
    jsonContainers: (counts.json ?? 0) + t.jsonContainers,
    timestamps: (counts.naive ?? 0) + (counts.zoned ?? 0) + t.timestamps,
    dates: (counts.dates ?? 0) + t.dates,
    zonedTimestamps: (counts.zoned ?? 0) + t.zonedTimestamps,
    nulTexts: t.nulTexts,
    invalidUtf8: t.invalidUtf8,
    maxTextChars,
    maxValueBytes: Math.max(found.blobMax, found.textMax, t.maxValueBytes),
    badRowKeys: { nul: [], invalidUtf8: [] },
  };
}

/** The largest character count of the column's texts (asked only when one of them is beyond ASCII). */
function textCharsMax(db: Database.Database, table: SourceTable, col: number): number {
  const q = quoteIdent(table.columns.filter((c) => c.hidden === 0)[col]!.name);
  const sql = `SELECT max(length(${q})) FROM ${quoteIdent(table.name)} NOT INDEXED WHERE typeof(${q}) = 'text'`;
  return (db.prepare(sql).pluck().get() as number | null) ?? 0;
}

/** Up to 5 row keys of the values with a NUL byte / invalid UTF-8 (targeted queries, only when some exist). */
function addBadRowKeys(
  db: Database.Database,
  table: SourceTable,
  profile: ColumnProfile,
  q: string,
  utf16: boolean,
): void {
  const keyExpr = table.withoutRowid
    ? table.columns
        .filter((c) => c.pkPosition > 0)
        .sort((a, b) => a.pkPosition - b.pkPosition)
        .map((c) => `quote(${quoteIdent(c.name)})`)
        .join(" || ', ' || ")
    : "'rowid ' || rowid";
  const sampleKeys = (where: string): string[] =>
    db
      .prepare(`SELECT ${keyExpr || "'?'"} FROM ${quoteIdent(table.name)} WHERE ${where} LIMIT 5`)
      .pluck()
      .all() as string[];
  if (profile.nulTexts > 0)
    profile.badRowKeys.nul = sampleKeys(
      `typeof(${q}) = 'text' AND ${utf16 ? `instr(${q}, char(0)) > 0` : `instr(CAST(${q} AS BLOB), x'00') > 0`}`,
    );
  if (profile.invalidUtf8 > 0)
    profile.badRowKeys.invalidUtf8 = sampleKeys(
      `typeof(${q}) = 'text' AND NOT dbops_text_ok(${utf16 ? q : `CAST(${q} AS BLOB)`})`,
    );
}
