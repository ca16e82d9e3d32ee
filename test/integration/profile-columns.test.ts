/**
 * The column profile that SQL aggregates and bulk text scans compute equals, field for field, the one the
 * per-value JavaScript aggregate computed before (kept below as the reference): on values chosen to hit every
 * edge of every counter, through each path (INTEGER / REAL / TEXT / JSON column kinds, the exact per-value
 * path, columns the sample misjudges, chunked reads, covering-index scan orders, a UTF-16 database), and on
 * seeded random data.
 */
import { isUtf8 } from 'node:buffer';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { discoverSchema } from '../../activities/sqlite/discover-schema';
import { quoteIdent } from '../../activities/sqlite/identifiers';
import {
  type ColumnProfile,
  decimalDigits,
  profileTable,
  registerProfileFunctions,
} from '../../activities/sqlite/profile-columns';
import type { SourceTable } from '../../activities/sqlite/source-schema';
import { timestampShape } from '../../activities/sqlite/timestamps';

// ---------------------------------------------------------------------------------------------------------
// Reference: the per-value implementation the SQL one replaced (one JavaScript aggregate step per value)

type Counts = Omit<ColumnProfile, 'intMin' | 'intMax' | 'badRowKeys'>;
interface Accumulator extends Counts {
  min: number | null;
  max: number | null;
  unsafeIntegers: number;
  replacementChars: number;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
function wellFormed(text: string): boolean {
  const native = (text as { isWellFormed?: () => boolean }).isWellFormed;
  return native ? native.call(text) : !LONE_SURROGATE.test(text);
}

function referenceCounts(): Counts {
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

function referenceDecimalDigits(value: number): { int: number; frac: number } {
  const [mantissa = '0', exponent = '0'] = Math.abs(value).toString().split('e');
  const [whole = '', fraction = ''] = mantissa.split('.');
  const digits = whole + fraction;
  const point = whole.length + Number(exponent);
  const intPart = point <= 0 ? '' : digits.slice(0, point).padEnd(point, '0');
  const fracPart = point < 0 ? '0'.repeat(-point) + digits : digits.slice(point);
  return { int: intPart.replace(/^0+/, '').length, frac: fracPart.replace(/0+$/, '').length };
}

function referenceIsJsonContainer(text: string): boolean {
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

function noteDigits(acc: Accumulator, value: number): void {
  const { int, frac } = referenceDecimalDigits(value);
  if (int > acc.maxIntDigits) {
    acc.maxIntDigits = int;
    acc.maxIntDigitsValue = String(value);
  }
  if (frac > acc.maxFracDigits) {
    acc.maxFracDigits = frac;
    acc.maxFracDigitsValue = String(value);
  }
}

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
      if (text.includes('\uFFFD')) acc.replacementChars++;
      if (!wellFormed(text)) {
        acc.invalidUtf8++;
        return;
      }
      if (text.length > acc.maxTextChars) {
        let chars = text.length;
        for (let i = 0; i < text.length; i++) if ((text.charCodeAt(i) & 0xfc00) === 0xd800) chars--;
        if (chars > acc.maxTextChars) acc.maxTextChars = chars;
      }
      if (text.length * 3 > acc.maxValueBytes) acc.maxValueBytes = Math.max(acc.maxValueBytes, Buffer.byteLength(text));
      const first = text.charCodeAt(0) <= 32 ? text.trimStart()[0] : text[0];
      if (first === '{' || first === '[') {
        if (referenceIsJsonContainer(text)) acc.jsonContainers++;
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

function registerReference(db: Database.Database): void {
  db.function('dbops_text_ok', { deterministic: true }, (value: unknown) => {
    if (typeof value === 'string') return wellFormed(value) ? 1 : 0;
    return isUtf8(value as Buffer) ? 1 : 0;
  });
  db.aggregate<Accumulator>('dbops_profile', {
    deterministic: true,
    start: () => ({ ...referenceCounts(), min: null, max: null, unsafeIntegers: 0, replacementChars: 0 }),
    step: ((acc: Accumulator, type: string, value: unknown) => {
      profileValue(acc, type, value);
    }) as never,
    result: (acc: Accumulator) => JSON.stringify(acc),
  });
}

function referenceProfileTable(db: Database.Database, table: SourceTable, encoding: string) {
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
        ...referenceCounts(),
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
        const exact = db
          .prepare(`SELECT min(${q}), max(${q}) FROM ${from} WHERE typeof(${q}) = 'integer'`)
          .raw(true)
          .safeIntegers(true)
          .get() as [bigint, bigint];
        profile.intMin = exact[0].toString();
        profile.intMax = exact[1].toString();
      }
      if (replacementChars > 0 && !utf16) {
        profile.invalidUtf8 = db
          .prepare(`SELECT count(*) FROM ${from} WHERE typeof(${q}) = 'text' AND NOT dbops_text_ok(CAST(${q} AS BLOB))`)
          .pluck()
          .get() as number;
      }
      if (profile.nulTexts > 0)
        profile.badRowKeys.nul = sampleKeys(
          `typeof(${q}) = 'text' AND ${utf16 ? `instr(${q}, char(0)) > 0` : `instr(CAST(${q} AS BLOB), x'00') > 0`}`,
        );
      if (profile.invalidUtf8 > 0)
        profile.badRowKeys.invalidUtf8 = sampleKeys(
          `typeof(${q}) = 'text' AND NOT dbops_text_ok(${utf16 ? q : `CAST(${q} AS BLOB)`})`,
        );
      return [c.name, profile];
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Fixture values

/** A value to insert: bound from JavaScript (bigint → INTEGER, number → REAL), or an SQL expression. */
type Value = bigint | number | string | Buffer | null | { sql: string };

/** Seeded PRNG (mulberry32), so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTEGERS: bigint[] = [
  0n,
  1n,
  -1n,
  2n,
  9n,
  10n,
  -10n,
  99n,
  100n,
  123456789n,
  9007199254740991n,
  9007199254740992n,
  9007199254740993n,
  -9007199254740993n,
  9999999999999999n,
  10000000000000000n,
  99999999999999999n,
  999999999999999999n,
  -999999999999999999n,
  9223372036854775807n,
  -9223372036854775808n,
];

const REALS: number[] = [
  0.1 + 0.2,
  1e21,
  1e-7,
  1.5e-7,
  -0.0,
  0,
  1,
  5,
  100,
  12.5,
  -3.14159,
  1e300,
  -1e300,
  Infinity,
  -Infinity,
  5e-324,
  1.7976931348623157e308,
  123456.789,
  0.05,
  1 / 3,
  2 / 3,
  9007199254740993,
  1e15 + 0.5,
  1e16,
  -1e22,
  123456789012345680000,
];

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

const JSON_TEXTS: string[] = [
  '{}',
  '[]',
  '{"a":1}',
  '[1,2,{"b":[true,null]}]',
  ' {"a":1}',
  '\n[1]',
  '\r\n\t{}',
  '\v{}',
  '\f[]',
  '\u00a0{}',
  '\u3000[1]',
  '\ufeff{}',
  ' \u2028[]',
  '{"a":"\\u0000"}',
  '{"a":"\\U0000"}',
  '["\\\\u0000"]',
  '[1,]',
  '{a:1}',
  "{'a':1}",
  '[0x10]',
  '[NaN]',
  '[Infinity]',
  '[1e400]',
  '[-0]',
  '[01]',
  '[1.]',
  '[.5]',
  '[+1]',
  '{"a":1} ',
  '{"a":1}\n',
  '{"a":1}x',
  '[/*c*/1]',
  '[1]//c',
  '["\\ud800"]',
  '["\t"]',
  '["\u007f"]',
  '["é"]',
  '["😀"]',
  '["\\x41"]',
  "['a']",
  '[INFO] log line',
  '{{template}}',
  '[',
  '{',
  deep(1000),
  deep(1001),
  deep(1500),
  `[${'"x",'.repeat(600)}"x"]`,
  `[${'"x",'.repeat(600)}"x",]`,
];

const TIMESTAMP_TEXTS: string[] = [
  '2025-03-04',
  '2025-03-04 05:06:07',
  '2025-03-04T05:06:07',
  '2025-03-04t05:06:07',
  '2025-03-04 05:06',
  '2025-03-04T05:06',
  '2025-03-04 05:06:07.1',
  '2025-03-04 05:06:07.123',
  '2025-03-04 05:06:07.123456',
  '2025-03-04 05:06:07.1234567',
  '2025-03-04 05:06:07.',
  '2025-03-04T05:06:07Z',
  '2025-03-04T05:06:07z',
  '2025-03-04T05:06:07.123Z',
  '2025-03-04T05:06:07.123456+00:00',
  '2025-03-04T05:06:07.123456789Z',
  '2025-03-04 05:06:07+05',
  '2025-03-04 05:06:07+0530',
  '2025-03-04 05:06:07+05:30',
  '2025-03-04 05:06:07-08:00',
  '2025-03-04 05:06:07+15:59',
  '2025-03-04 05:06:07+16:00',
  '2025-03-04 05:06:07+05:60',
  '2025-03-04 05:06:07 +05:30',
  '2025-03-04 05:06:07 Z',
  '2025-03-04 05:06:07-00',
  '2025-03-04 05:06Z',
  '2025-03-04 05:06+01:00',
  '2025-03-04Z',
  '2025-03-04 +05:00',
  '2025-03-04 ',
  '2025-03-04\t',
  ' 2025-03-04',
  '\t2025-03-04 05:06:07\t',
  '\u00a02025-03-04',
  '2025-03-04\u00a0',
  '2025-03-04\u3000',
  '2025-02-30',
  '2024-02-29',
  '2023-02-29',
  '1900-02-29',
  '2000-02-29',
  '0000-01-01',
  '0000-01-01 00:00:00',
  '0001-01-01',
  '9999-12-31 23:59:59',
  '2025-13-01',
  '2025-00-10',
  '2025-01-00',
  '2025-01-32',
  '2025-04-31',
  '2025-03-04 24:00:00',
  '2024-12-31 24:00:00',
  '2025-03-04 23:60:00',
  '2025-03-04 23:59:60',
  '2025-03-04 5:06:07',
  '2025-3-4',
  '20250304',
  '2025-03-04x',
  '2025-03-04 05:06:07x',
  '2025-03-04T05:06:07.123+05',
  '12345',
  '3.14',
  '1e5',
  '0',
  '9 lives',
];

const BOOLEAN_TEXTS = [
  't',
  'f',
  'T',
  'F',
  'true',
  'True',
  'TRUE',
  'false',
  'FALSE',
  'tRuE',
  'TRUE ',
  ' true',
  'yes',
  'truee',
  'fals',
  'tr',
  'fa',
];

const OTHER_TEXTS = [
  '',
  ' ',
  '   ',
  '\t',
  '\n',
  'abc',
  'héllo',
  '中文',
  '😀 emoji',
  '𝄞',
  '\ufffd',
  'x'.repeat(3000),
  'é'.repeat(2000),
  '😀'.repeat(900),
  // Longer than a bulk scan takes (4096 bytes): profiled one by one.
  'y'.repeat(5000),
  '中'.repeat(1400),
  `{"long":"${'z'.repeat(5000)}"}`,
  `[${'1,'.repeat(3000)}]`,
  `2025-03-04 ${'0'.repeat(5000)}`,
  ' '.repeat(4097),
  '-1',
  '+1',
  '.5',
  'null',
];

/** Valid texts without NUL: every kind the profile classifies. */
const VALID_TEXTS = [...JSON_TEXTS, ...TIMESTAMP_TEXTS, ...BOOLEAN_TEXTS, ...OTHER_TEXTS];

/** Texts with a NUL byte, or bytes that are not UTF-8 (SQL expressions, as JavaScript cannot bind them). */
const BAD_TEXTS: Value[] = [
  'a\u0000b',
  '\u0000',
  '{"a":1}\u0000',
  '2025-03-04\u0000',
  'true\u0000',
  ...[
    'c328',
    '80',
    'e4b8',
    'e4b841',
    'eda080',
    'c080',
    'f4908080',
    'ff',
    'fe',
    '41e9',
    '636166e9',
    '446f6e9274',
    '7b2261223a22e9227d',
    '5b315d80',
    '323032352d30332d3034e9',
    '20e9',
    'e97b7d',
    'efbfbd',
    'e280a8',
    '74e9',
    '3230323580',
  ].map((hex) => ({ sql: `CAST(x'${hex}' AS TEXT)` })),
  { sql: `CAST(x'e9' || CAST(printf('%.6000c', 'a') AS BLOB) AS TEXT)` },
  { sql: `'a' || char(0) || printf('%.5000c', 'b')` },
];

const BLOBS: Buffer[] = [Buffer.alloc(0), Buffer.from([0]), Buffer.from([1, 2, 3]), Buffer.alloc(5000, 7)];

/** Random timestamp-like texts: valid and invalid fields, every separator, fraction length and offset form. */
function randomTimestamp(r: () => number): string {
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)]!;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  let s = `${pad(Math.floor(r() * 10000), 4)}-${pad(Math.floor(r() * 14))}-${pad(Math.floor(r() * 33))}`;
  if (r() < 0.8) {
    s += pick([' ', 'T', 't', ' ', 'x']) + `${pad(Math.floor(r() * 26))}:${pad(Math.floor(r() * 62))}`;
    if (r() < 0.8) s += `:${pad(Math.floor(r() * 62))}`;
    if (r() < 0.4) s += '.' + '1234567'.slice(0, Math.floor(r() * 8));
  }
  if (r() < 0.5)
    s += pick(['', ' ', '  ']) + pick(['Z', 'z', '+05', '-0800', '+05:30', '-16:00', '+15:60', '+1', 'UTC', '']);
  if (r() < 0.1) s = pick([' ', '\t']) + s;
  if (r() < 0.1) s += pick([' ', '\t', '\n']);
  return s;
}

/** Random JSON-like texts, valid or broken in the ways JSON5 differs from JSON. */
function randomJson(r: () => number, depth = 0): string {
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)]!;
  const atoms = ['0', '-0', '1.5', '1e5', '1e400', '01', '1.', '.5', '+1', '0x1F', 'NaN', 'true', 'null', 'nul'];
  const strings = ['"a"', '"\\n"', '"\\u0041"', '"\\u0000"', '"\\ud800"', "'a'", '"\\x41"', '"é"', '"\t"'];
  const ws = ['', ' ', '\n', '\t', '\r', '\v', '\u00a0'];
  if (depth > 3 || r() < 0.4) return pick(r() < 0.5 ? atoms : strings);
  const n = Math.floor(r() * 4);
  const items = Array.from({ length: n }, () =>
    r() < 0.5
      ? pick(ws) + randomJson(r, depth + 1)
      : `${pick(['"k"', 'k', "'k'"])}${pick([':', '='])}${randomJson(r, depth + 1)}`,
  );
  const body = items.join(r() < 0.95 ? ',' : ',,') + (r() < 0.05 ? ',' : '');
  return r() < 0.5 ? `[${body}]` : `{${body}}`;
}

/** A random value of any storage class, from every list above and the generators. */
function randomValue(r: () => number): Value {
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)]!;
  const k = r();
  if (k < 0.1) return null;
  if (k < 0.25) return r() < 0.5 ? pick(INTEGERS) : BigInt(Math.floor((r() - 0.5) * 10 ** Math.floor(r() * 16)));
  if (k < 0.35)
    return r() < 0.3
      ? pick(REALS)
      : Math.round((r() - 0.5) * 10 ** Math.floor(r() * 8) * 1000) / 10 ** Math.floor(r() * 6);
  if (k < 0.5) return randomTimestamp(r);
  if (k < 0.6) return randomJson(r);
  if (k < 0.85) return pick(VALID_TEXTS);
  if (k < 0.95) return pick(BAD_TEXTS);
  return pick(BLOBS);
}

function insertRows(db: Database.Database, table: string, columns: string[], rows: Value[][]): void {
  const names = columns.map(quoteIdent).join(', ');
  const insert = db.transaction((batch: Value[][]) => {
    for (const row of batch) {
      const params: unknown[] = [];
      const exprs = row.map((v) => {
        if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) return v.sql;
        params.push(v);
        return '?';
      });
      db.prepare(`INSERT INTO ${quoteIdent(table)} (${names}) VALUES (${exprs.join(', ')})`).run(...params);
    }
  });
  insert(rows);
}

/** `n` rows of one column from a value list, cycled. */
const cycle = (values: Value[], n: number): Value[][] =>
  Array.from({ length: n }, (_, i) => [values[i % values.length]!]);

// ---------------------------------------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'dbops-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Creates a database with `setup`, then profiles every table both ways on separate read-only connections. */
function profileBoth(name: string, setup: (db: Database.Database) => void, encoding?: string) {
  const path = join(dir, `${name}.db`);
  const db = new Database(path);
  if (encoding) db.pragma(`encoding = '${encoding}'`);
  setup(db);
  db.close();
  const ref = new Database(path, { readonly: true });
  const sut = new Database(path, { readonly: true });
  try {
    registerReference(ref);
    registerProfileFunctions(sut);
    const schema = discoverSchema(sut);
    return schema.tables.map((t) => ({
      table: t.name,
      expected: referenceProfileTable(ref, t, schema.encoding),
      actual: profileTable(sut, t, schema.encoding),
    }));
  } finally {
    ref.close();
    sut.close();
  }
}

const COUNTERS = [
  'nulls',
  'integers',
  'reals',
  'texts',
  'blobs',
  'intsNot01',
  'textBooleans',
  'jsonContainers',
  'timestamps',
  'dates',
  'zonedTimestamps',
  'nulTexts',
  'invalidUtf8',
  'maxTextChars',
  'maxValueBytes',
  'maxIntDigits',
  'maxFracDigits',
];

/** Every counter that is non-zero somewhere: the comparison is only as strong as the values it sees. */
function exercised(results: ReturnType<typeof profileBoth>): Set<string> {
  const seen = new Set<string>();
  for (const { expected } of results)
    for (const p of Object.values(expected))
      for (const [k, v] of Object.entries(p)) if (typeof v === 'number' && v > 0) seen.add(k);
  return seen;
}

describe('profileTable equals the per-value reference', () => {
  it('on edge values through every column kind and path', () => {
    const results = profileBoth('edges', (db) => {
      db.exec(`
        CREATE TABLE ints (id INTEGER PRIMARY KEY, a INTEGER, b);
        CREATE TABLE infinities (id INTEGER PRIMARY KEY, a INTEGER, b);
        CREATE TABLE reals (id INTEGER PRIMARY KEY, r REAL, n NUMERIC, a);
        CREATE TABLE valid_texts (id INTEGER PRIMARY KEY, t TEXT);
        CREATE TABLE late_json (id INTEGER PRIMARY KEY, t TEXT);
        CREATE TABLE exact_texts (id INTEGER PRIMARY KEY, t);
        CREATE TABLE late_bad (id INTEGER PRIMARY KEY, t TEXT, i INTEGER, r);
        CREATE TABLE late_blob (id INTEGER PRIMARY KEY, t TEXT);
        CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB);
        CREATE TABLE empty (id INTEGER PRIMARY KEY, v);
        CREATE TABLE nulls (id INTEGER PRIMARY KEY, v TEXT, w INTEGER);
        CREATE TABLE generated (a INTEGER, b AS (a * 2), c TEXT, d AS (c || 'x') STORED);
        CREATE TABLE desc_pk (id INTEGER PRIMARY KEY DESC, v TEXT);
        CREATE TABLE keyed (k INTEGER PRIMARY KEY, t TEXT, r REAL) WITHOUT ROWID;
        CREATE TABLE text_keyed (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID;
        CREATE TABLE shadowed (rowid TEXT, oid INTEGER, t TEXT);
        CREATE TABLE sparse (id INTEGER PRIMARY KEY, t TEXT);
        CREATE TABLE negative_keys (id INTEGER PRIMARY KEY, v INTEGER);
        CREATE TABLE desc_keyed (k INTEGER, v TEXT, r REAL, PRIMARY KEY (k DESC)) WITHOUT ROWID;
        CREATE TABLE one_key (k INTEGER, j INTEGER, t TEXT, PRIMARY KEY (k, j)) WITHOUT ROWID;
        CREATE TABLE shadowed_alias (id INTEGER PRIMARY KEY, "RowId" INTEGER, t TEXT);
        CREATE TABLE covering (a INTEGER, b INTEGER);
        CREATE INDEX covering_ba ON covering (b, a);
        CREATE TABLE covering_real (r REAL, b INTEGER);
        CREATE INDEX covering_real_br ON covering_real (b, r);
        CREATE TABLE wide (${Array.from({ length: 1500 }, (_, i) => `c${i} ${['INTEGER', 'TEXT', 'REAL', ''][i % 4]}`).join(', ')});`);
      insertRows(db, 'ints', ['a', 'b'], [...INTEGERS.map((n) => [n, n]), [null, null]]);
      // Integers and infinities only: no finite REAL makes a sum a REAL.
      insertRows(
        db,
        'infinities',
        ['a', 'b'],
        [...INTEGERS.map((n) => [n, n]), [Infinity, 'x'], [-Infinity, -Infinity]],
      );
      insertRows(
        db,
        'reals',
        ['r', 'n', 'a'],
        [...REALS.map((x, i) => [x, i % 3 === 0 ? BigInt(i) : x, x]), [null, 5n, null], [2n, 2.5, 7n]],
      );
      // More than the 1000-row sample, so the later rows test the sample's verdict.
      insertRows(db, 'valid_texts', ['t'], [...cycle(VALID_TEXTS, 3000), [null]]);
      insertRows(
        db,
        'late_json',
        ['t'],
        [...cycle([...TIMESTAMP_TEXTS, ...BOOLEAN_TEXTS, ...OTHER_TEXTS], 1200), ...cycle(JSON_TEXTS, 200)],
      );
      insertRows(db, 'exact_texts', ['t'], [[7n], ...cycle([...VALID_TEXTS, ...BAD_TEXTS, ...BLOBS, 1.5, 3n], 2000)]);
      insertRows(
        db,
        'late_bad',
        ['t', 'i', 'r'],
        [
          ...Array.from(
            { length: 1500 },
            (_, i) => [VALID_TEXTS[i % VALID_TEXTS.length]!, BigInt(i), i + 0.5] as Value[],
          ),
          ...BAD_TEXTS.map((v, i) => [v, i % 2 ? 2.5 : 'x', i % 2 ? 'y' : Buffer.from([i])] as Value[]),
          [1n, null, 3n],
        ],
      );
      insertRows(db, 'late_blob', ['t'], [...cycle(VALID_TEXTS, 1200), [Buffer.from('zz')]]);
      // Rowids far apart: chunks skip the gaps.
      insertRows(
        db,
        'sparse',
        ['id', 't'],
        Array.from({ length: 1500 }, (_, i) => [
          BigInt(i % 3 === 0 ? i * 2 ** 50 : -i * 1e6),
          VALID_TEXTS[i % VALID_TEXTS.length]!,
        ]),
      );
      // Keys read in descending order, or whose first widest value is negative.
      insertRows(
        db,
        'negative_keys',
        ['id', 'v'],
        Array.from({ length: 300 }, (_, i) => [BigInt(i * 37 - 5000), BigInt(i)]),
      );
      insertRows(
        db,
        'desc_keyed',
        ['k', 'v', 'r'],
        // More rows than one chunk: chunks go by ascending key, the table's own order is descending.
        Array.from({ length: 9000 }, (_, i) => [BigInt(i * 3), 'x', i / 8]),
      );
      // More rows under one key value than a chunk may hold: the texts take the exact path.
      insertRows(
        db,
        'one_key',
        ['k', 'j', 't'],
        Array.from({ length: 9000 }, (_, i) => [1n, BigInt(i), VALID_TEXTS[i % VALID_TEXTS.length]!]),
      );
      // Columns named rowid: discovery's "rowid range" is theirs.
      insertRows(
        db,
        'shadowed',
        ['rowid', 'oid', 't'],
        Array.from({ length: 1300 }, (_, i) => [`r${i}`, BigInt(i % 7), VALID_TEXTS[i % VALID_TEXTS.length]!]),
      );
      insertRows(
        db,
        'shadowed_alias',
        ['id', 'RowId', 't'],
        Array.from({ length: 1300 }, (_, i) => [
          BigInt(i * 5 - 9),
          BigInt(1300 - i),
          VALID_TEXTS[i % VALID_TEXTS.length]!,
        ]),
      );
      insertRows(db, 'blobs', ['b'], [...BLOBS.map((b) => [b]), [null]]);
      insertRows(
        db,
        'nulls',
        ['v', 'w'],
        [
          [null, null],
          [null, null],
        ],
      );
      insertRows(
        db,
        'generated',
        ['a', 'c'],
        [
          [1n, 'x'],
          [null, '2025-03-04'],
          [3n, null],
        ],
      );
      insertRows(
        db,
        'desc_pk',
        ['id', 'v'],
        [
          [5n, 'a'],
          [7n, 't'],
          [-3n, '{}'],
        ],
      );
      insertRows(
        db,
        'keyed',
        ['k', 't', 'r'],
        Array.from({ length: 2500 }, (_, i) => [
          BigInt(i - 1),
          VALID_TEXTS[i % VALID_TEXTS.length]!,
          REALS[i % REALS.length]!,
        ]),
      );
      insertRows(
        db,
        'text_keyed',
        ['k', 'v'],
        VALID_TEXTS.slice(0, 50).map((t, i) => [t, BigInt(i * 37)]),
      );
      // More aggregates than one SQLite result row may hold.
      const wide = Array.from({ length: 1500 }, (_, i) => `c${i}`);
      insertRows(db, 'wide', wide, [
        wide.map((_, i) => [BigInt(i), VALID_TEXTS[i % VALID_TEXTS.length]!, i / 7, BLOBS[i % 4]!][i % 4]!),
        wide.map((_, i) => [null, '2025-03-04', -i * 1e10, BigInt(i)][i % 4]!),
      ]);
      // Ties in digit count whose first occurrence differs between rowid order and the covering index order.
      insertRows(
        db,
        'covering',
        ['a', 'b'],
        [
          [10n, 3n],
          [99n, 1n],
          [55n, 2n],
          [-12n, 4n],
        ],
      );
      insertRows(
        db,
        'covering_real',
        ['r', 'b'],
        [
          [1.25, 3n],
          [9.75, 1n],
          [5.5, 2n],
          [12.5, 5n],
          [-98.5, 4n],
        ],
      );
    });
    for (const { table, expected, actual } of results)
      expect({ table, profiles: actual }).toEqual({ table, profiles: expected });
    // Every counter is exercised, so equality means something.
    expect([...exercised(results)].sort()).toEqual([...COUNTERS].sort());
  });

  it('on a UTF-16 database with lone surrogates, NUL and every kind of text', () => {
    const results = profileBoth(
      'utf16',
      (db) => {
        db.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, w, n INTEGER)`);
        const lone = ['00d8', '00dc', '00d84100', '4100dc', '3dd800de', '4100000042', '00d800d8'].map((hex) => ({
          sql: `CAST(x'${hex}' AS TEXT)`,
        }));
        insertRows(
          db,
          't',
          ['v', 'w', 'n'],
          Array.from({ length: 1500 }, (_, i) => {
            const texts = [...VALID_TEXTS, ...lone];
            return [
              texts[i % texts.length]!,
              i % 5 === 0 ? BLOBS[i % BLOBS.length]! : texts[(i * 7) % texts.length]!,
              INTEGERS[i % INTEGERS.length]!,
            ];
          }),
        );
      },
      'UTF-16le',
    );
    for (const { table, expected, actual } of results)
      expect({ table, profiles: actual }).toEqual({ table, profiles: expected });
  });

  it('on seeded random data, read in many chunks', () => {
    const r = prng(20250304);
    const results = profileBoth('random', (db) => {
      db.exec(`CREATE TABLE r (id INTEGER PRIMARY KEY, anything, ts TEXT, js TEXT, num NUMERIC, i INTEGER, words TEXT);
               CREATE TABLE w (k INTEGER NOT NULL, j INTEGER, v, PRIMARY KEY (k, j)) WITHOUT ROWID;`);
      const words = ['agent', 'tool', 'memory', 'plan', 'étape', '中文', 'true', 'f', ''];
      insertRows(
        db,
        'r',
        ['id', 'anything', 'ts', 'js', 'num', 'i', 'words'],
        Array.from({ length: 6000 }, (_, i) => [
          // Sparse rowids: chunks are rowid ranges.
          BigInt(i * 3 + (i % 7)),
          randomValue(r),
          r() < 0.1 ? null : randomTimestamp(r),
          r() < 0.1 ? null : randomJson(r),
          r() < 0.5 ? BigInt(Math.floor(r() * 1000)) : Math.round(r() * 1e6) / 100,
          i === 5000 ? 0.5 : BigInt(Math.floor((r() - 0.3) * 2 ** 40)),
          Array.from({ length: Math.floor(r() * 6) }, () => words[Math.floor(r() * words.length)]).join(' '),
        ]),
      );
      insertRows(
        db,
        'w',
        ['k', 'j', 'v'],
        Array.from({ length: 3000 }, (_, i) => [BigInt(Math.floor(i / 3) - 100), BigInt(i % 3), randomValue(r)]),
      );
    });
    for (const { table, expected, actual } of results)
      expect({ table, profiles: actual }).toEqual({ table, profiles: expected });
  });
});

describe('decimalDigits', () => {
  it('equals the split-based reference on random doubles', () => {
    const r = prng(7);
    const values: number[] = [...REALS, ...INTEGERS.map(Number), NaN];
    const bits = new DataView(new ArrayBuffer(8));
    for (let i = 0; i < 20000; i++) {
      if (i % 2) values.push((r() - 0.5) * 10 ** Math.floor(r() * 40 - 20));
      else {
        bits.setUint32(0, Math.floor(r() * 2 ** 32));
        bits.setUint32(4, Math.floor(r() * 2 ** 32));
        values.push(bits.getFloat64(0));
      }
    }
    for (const v of values) expect([v, decimalDigits(v)]).toEqual([v, referenceDecimalDigits(v)]);
  });
});
