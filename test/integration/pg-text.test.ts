/**
 * The source-side texts of activities/migration/pg-text against what the machine's PostgreSQL itself prints
 * (`col::text`, under the session settings the verification uses): hand-picked edge cases and a few thousand
 * seeded random values per function, each list sent in one query. A value PostgreSQL rejects must make the
 * function throw, and a value it accepts must not.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgFloat8Text, pgJsonbText, pgNumericText, pgTimestamptzText } from '../../activities/migration/pg-text';
import { hashBytes } from '../../activities/migration/row-hash';
import { prng } from '../../scripts/sample/helloagents';

let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({ host: '127.0.0.1', user: 'root', database: 'test' });
  await client.connect();
  await client.query(
    `SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 3;
     SET bytea_output = 'hex'; SET TimeZone = 'UTC';
     CREATE FUNCTION pg_temp.try_jsonb(t text) RETURNS text LANGUAGE plpgsql AS
       $$ BEGIN RETURN t::jsonb::text; EXCEPTION WHEN others THEN RETURN NULL; END $$;
     CREATE FUNCTION pg_temp.try_numeric(t text) RETURNS text LANGUAGE plpgsql AS
       $$ BEGIN RETURN trim_scale(t::numeric)::text; EXCEPTION WHEN others THEN RETURN NULL; END $$;`,
  );
});
afterAll(async () => {
  await client.end();
});

/** `expr` (over the text `x`) for every input, in input order, in one query. */
async function pgTexts(expr: string, inputs: readonly string[]): Promise<(string | null)[]> {
  const res = await client.query<{ t: string | null }>(
    `SELECT ${expr} AS t FROM unnest($1::text[]) WITH ORDINALITY AS u(x, i) ORDER BY i`,
    [inputs],
  );
  return res.rows.map((r) => r.t);
}

/** Our text, or null when the function throws (PostgreSQL's rejections come back as null too). */
function attempt<T>(fn: (v: T) => string, value: T): string | null {
  try {
    return fn(value);
  } catch {
    return null;
  }
}

/** The inputs whose texts differ, with both texts: an empty list is a pass, anything else says what broke. */
function mismatches<T>(inputs: readonly T[], ours: readonly (string | null)[], theirs: readonly (string | null)[]) {
  expect(ours.length).toBe(inputs.length);
  expect(theirs.length).toBe(inputs.length);
  const out: { input: string; ours: string | null; postgres: string | null }[] = [];
  for (let i = 0; i < inputs.length; i++) {
    if (ours[i] !== theirs[i]) {
      const v = inputs[i];
      out.push({ input: typeof v === 'string' ? v : String(v), ours: ours[i] ?? null, postgres: theirs[i] ?? null });
    }
  }
  return out.slice(0, 20);
}

const pick = <T>(rnd: () => number, list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
const int = (rnd: () => number, lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
const digitString = (rnd: () => number, n: number): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += String(int(rnd, 0, 9));
  return s;
};

const view = new DataView(new ArrayBuffer(8));
function fromBits(hi: number, lo: number): number {
  view.setUint32(0, hi >>> 0);
  view.setUint32(4, lo >>> 0);
  return view.getFloat64(0);
}
/** The adjacent doubles of a finite nonzero x (one ulp towards and away from zero). */
function neighbours(x: number): number[] {
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const down = lo === 0 ? fromBits(hi - 1, 0xffffffff) : fromBits(hi, lo - 1);
  const up = lo === 0xffffffff ? fromBits(hi + 1, 0) : fromBits(hi, lo + 1);
  return [down, up];
}

/** The text PostgreSQL receives for a double: JS's shortest spelling, keeping -0. */
const spell = (x: number): string => (Object.is(x, -0) ? '-0' : String(x));

const EDGE_DOUBLES = [
  0,
  -0,
  5e-324,
  -5e-324,
  1e-323,
  2.225073858507201e-308, // largest subnormal
  2.2250738585072014e-308, // smallest normal
  1.7976931348623157e308,
  -1.7976931348623157e308,
  NaN,
  Infinity,
  -Infinity,
  1e14,
  99999999999999.99,
  999999999999999,
  999999999999999.9,
  1e15,
  1e15 + 1,
  1e16,
  123456789012345,
  1234567890123456,
  123456789012345678,
  2 ** 52,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 63,
  2 ** 64,
  0.0001,
  0.00009999999999999999,
  0.00001,
  1e-5,
  1e-7,
  -1.5e-5,
  1e20,
  1e21,
  1e22,
  1e23,
  1.2345678901234568e20,
  0.1,
  0.2,
  0.1 + 0.2,
  1 / 3,
  2 / 3,
  Math.PI,
  Math.E,
  -Math.PI * 1e200,
  1.5,
  -2.5,
  100,
  123456.789,
  4.35,
  0.000123,
  9.999999999999999e-5,
  1e100,
  1e-100,
  1e300,
  1e-300,
  1.5e300,
  2.5e-310,
];

/** Edge doubles, every power of ten and two with both neighbours, random bit patterns, random decimals. */
function doubleCases(): number[] {
  const out = [...EDGE_DOUBLES];
  for (let e = -325; e <= 309; e++) {
    const x = Number(`1e${e}`);
    out.push(x);
    if (x !== 0 && Number.isFinite(x)) out.push(...neighbours(x));
  }
  for (let e = -1074; e <= 1023; e += e < 50 ? 3 : 1) {
    const x = 2 ** e;
    out.push(x, ...neighbours(x));
  }
  const rnd = prng(0x5eed1);
  for (let i = 0; i < 2500; i++) {
    out.push(fromBits(Math.floor(rnd() * 2 ** 32), Math.floor(rnd() * 2 ** 32)));
  }
  for (let i = 0; i < 2500; i++) {
    const sign = rnd() < 0.5 ? '-' : '';
    out.push(Number(`${sign}${digitString(rnd, int(rnd, 1, 17))}e${int(rnd, -340, 310)}`));
  }
  // Short decimals above 2^54, and their neighbours: where a shortest text can sit exactly halfway between two
  // doubles (1e23), which PostgreSQL never prints.
  for (let i = 0; i < 1000; i++) {
    const x = Number(`${digitString(rnd, int(rnd, 1, 4))}e${int(rnd, 17, 305)}`);
    if (x !== 0) out.push(x, ...neighbours(x));
  }
  // Short decimals at human magnitudes (prices, measurements): the fixed-notation range.
  for (let i = 0; i < 1000; i++) {
    out.push(Number(`${digitString(rnd, int(rnd, 1, 8))}e${int(rnd, -12, 18)}`));
  }
  return out;
}

describe('pgFloat8Text', () => {
  it('prints every double as x::float8::text does', async () => {
    const values = doubleCases();
    const theirs = await pgTexts('x::float8::text', values.map(spell));
    expect(mismatches(values.map(spell), values.map(pgFloat8Text), theirs)).toEqual([]);
  });
});

const EDGE_BIGINTS = [
  0n,
  1n,
  -1n,
  10n,
  1000000n,
  -1000000n,
  2n ** 53n + 1n,
  9223372036854775807n,
  -9223372036854775807n,
  -9223372036854775808n,
];

const EDGE_DECIMALS = [
  '0',
  '-0',
  '+0',
  '0.000',
  '-0.000',
  '1.50',
  '100',
  '100.00',
  '-100.0100',
  '+.5',
  '-.5',
  '5.',
  ' 12.5 ',
  '\t\n12.5\r\n',
  '1e5',
  '1E-5',
  '1.20e-1',
  '1.0e+1',
  '1e 5', // numeric_in reads the exponent with strtol, which skips spaces
  '1e+05',
  '1e-0',
  '0e10',
  '0.00e-3',
  '00012.3400',
  '-00.0001000',
  '123456789012345678901234567890.123456789012345678901234567890',
  '9999999999999999999999999999999999999999.999999999999',
  '1e-16383',
  '1e1000',
  '1e-1000',
  '12345e131067',
  '0e999999',
  'NaN',
  'nan',
  ' NaN ',
  'Infinity',
  'infinity',
  '+Infinity',
  '-Infinity',
  'inf',
  '+inf',
  '-INF',
  // PostgreSQL rejects these: the function must throw.
  '',
  ' ',
  '.',
  '+',
  '-',
  '1.2.3',
  'abc',
  '1e',
  '1e+',
  '1e- 5',
  '1 2',
  '++1',
  '- 1',
  '+NaN',
  'NaNx',
  'Infinityx',
  '0x10',
  '1_000',
  '1e131072',
  '12345e131068',
  '1e-16384',
  '0e-16384',
  '1e99999999999',
  '1,5',
];

function decimalStringCases(): string[] {
  const out = [...EDGE_DECIMALS];
  const rnd = prng(0xdec1);
  for (let i = 0; i < 1500; i++) {
    const sign = pick(rnd, ['', '', '-', '+']);
    const zeros = '0'.repeat(int(rnd, 0, 3) * (rnd() < 0.3 ? 1 : 0));
    const intPart = rnd() < 0.15 ? '' : digitString(rnd, int(rnd, 1, 25));
    const frac = rnd() < 0.4 ? '' : '.' + digitString(rnd, int(rnd, 0, 25)) + '0'.repeat(int(rnd, 0, 4));
    const exp = rnd() < 0.7 ? '' : pick(rnd, ['e', 'E']) + pick(rnd, ['', '+', '-']) + String(int(rnd, 0, 40));
    out.push(sign + zeros + (intPart === '' && frac.length <= 1 ? '0' : intPart) + frac + exp);
  }
  return out;
}

describe('pgNumericText', () => {
  it('prints doubles (sent as String(value)) as trim_scale(x::numeric)::text does', async () => {
    const values = doubleCases();
    const theirs = await pgTexts('pg_temp.try_numeric(x)', values.map(String));
    expect(mismatches(values, values.map(pgNumericText), theirs)).toEqual([]);
  });

  it('prints 64-bit integers as numeric does', async () => {
    const rnd = prng(0xb161);
    const values = [...EDGE_BIGINTS];
    for (let i = 0; i < 500; i++) {
      const v = BigInt(digitString(rnd, int(rnd, 1, 18)) || '0');
      values.push(rnd() < 0.5 ? -v : v);
    }
    const theirs = await pgTexts('pg_temp.try_numeric(x)', values.map(String));
    expect(mismatches(values, values.map(pgNumericText), theirs)).toEqual([]);
  });

  it('prints decimal strings as numeric does, and throws where numeric_in refuses them', async () => {
    const values = decimalStringCases();
    const theirs = await pgTexts('pg_temp.try_numeric(x)', values);
    expect(
      mismatches(
        values,
        values.map((v) => attempt(pgNumericText, v)),
        theirs,
      ),
    ).toEqual([]);
    // Both outcomes were exercised.
    expect(theirs.filter((t) => t === null).length).toBeGreaterThan(20);
    expect(theirs.filter((t) => t !== null).length).toBeGreaterThan(1000);
  });
});

const JSON_DOCS = [
  '{}',
  '[]',
  '{ }',
  '[ ]',
  ' \t\n\r{"a" : 1 , "b" :[ 1 ,2 ] }\n',
  '{"a": 1, "b": [1, 2]}',
  '{"b":1,"a":2}',
  '{"a":1,"a":2}',
  '{"a":1,"b":0,"a":{"x":1},"a":[3]}',
  '{"z":1,"é":2,"aa":3,"a":4,"zz":5,"ab":6,"😀":7,"€":8,"ÿ":9,"":10}',
  '{"\uffff":1,"😀":2,"\ue000":3,"a\ud83d\ude00":4,"ab\uffff":5}',
  // Same UTF-8 length, where UTF-16 order and byte order disagree: U+E000..U+FFFF sort before supplementary chars.
  '{"😀":1,"\uffffa":2,"\ue000b":3,"𝄞":4,"a😀":5,"a\uffffb":6}',
  '{"\\u00e9":1,"é":2}',
  '{"b":{"d":[{"f":1,"e":2}],"c":null},"a":[{"z":{},"y":[]}]}',
  '[[[[[[[[[[1]]]]]]]]]]',
  '"plain"',
  '""',
  '"\\u00e9\\u00E9\\/\\u001f\\u0001\\t\\n\\r\\b\\f\\"\\\\"',
  '"\\ud83d\\ude00 and \\uD83D\\uDE00 and 😀 and ☃ and \\u2603"',
  '"tab\\tnew\\nline\\u000bvt\\u007fdel\\u0080c1"',
  '"/ \\/ \\\\/"',
  '"\u007f\u0080\u2028\u2029"',
  '{"\\n\\u0001key":"\\u001F"}',
  '"a\ud800b"', // a raw lone surrogate travels as U+FFFD (Node's UTF-8 encoder)
  '{"\udc00":1,"\ufffd":2}',
  'true',
  'false',
  'null',
  '[true,false,null]',
  '0',
  '-0',
  '0.0',
  '-0.0',
  '-0.000e2',
  '1.50',
  '1e2',
  '1E2',
  '1E+2',
  '1e-3',
  '1E-3',
  '1.0e1',
  '1.0e+1',
  '1.20e-1',
  '0e5',
  '0e-2',
  '-0e-2',
  '0.00e1',
  '123456789012345678901234567890',
  '-123456789012345678901234567890.000',
  '12345678901234567890e-30',
  '1e1000',
  '1e-1000',
  '1e-16383',
  '9.9e131071',
  '[1.50, 1e2, 1E-3, -0, 0.0, 123456789012345678901234567890, 1.0e+1, -1.5e-7, 3.14159]',
  '{"n":1.0,"m":-0.50,"big":1e30}',
  // Rejected by PostgreSQL: the function must throw.
  '',
  ' ',
  '{',
  '[1,]',
  '{"a":1,}',
  '{"a" 1}',
  '{a:1}',
  "{'a':1}",
  '[1 2]',
  '01',
  '-01',
  '1.',
  '.5',
  '-',
  '+1',
  '1e',
  '1.5e+',
  '1.5ef',
  '1x',
  '1_',
  'trueX',
  'tru',
  'nul',
  'NaN',
  'Infinity',
  'null null',
  '[1]x',
  '"\\x"',
  '"\\"',
  '"\\U00e9"',
  '"\\u00g9"',
  '"\\u0000"',
  '"\\ud83d"',
  '"\\ude00"',
  '"\\ud83dx"',
  '"\\ud83d\\u0041"',
  '"a\tb"',
  '"a\u0001b"',
  '\f1',
  '1e131072',
  '1e-16384',
  '1e99999999999',
  '1' + '0'.repeat(131071), // the most integer digits numeric holds
  '-1' + '0'.repeat(131072),
  '0.' + '0'.repeat(16382) + '1', // the most fractional digits
  '-0.' + '0'.repeat(16383) + '1',
  '"unterminated',
];

/** Random documents: nested values, shuffled and duplicated keys of mixed byte lengths, escapes in every spelling. */
function randomJsonDocs(): string[] {
  const rnd = prng(0x15011);
  const keys = ['a', 'b', 'z', 'aa', 'ab', 'é', 'e', 'ée', '😀', '€', 'key', 'Key', 'k e y', '', 'a\nb', '"q"', 'zz'];
  keys.push('\uffffa', '\ue000', 'a😀', '𝄞', 'x\uffff');
  const ws = () => pick(rnd, ['', '', '', ' ', '\n', '\t', '\r\n  ']);
  const char = (): string => {
    const r = rnd();
    if (r < 0.5) return String.fromCharCode(int(rnd, 0x20, 0x7e)).replace(/["\\]/, '\\$&');
    if (r < 0.6) return pick(rnd, ['\\n', '\\t', '\\r', '\\b', '\\f', '\\"', '\\\\', '\\/']);
    if (r < 0.7) {
      const hex = int(rnd, 1, 0xd7ff).toString(16).padStart(4, '0');
      return '\\u' + (rnd() < 0.5 ? hex : hex.toUpperCase());
    }
    if (r < 0.75) return '\\u' + int(rnd, 1, 0x1f).toString(16).padStart(4, '0');
    if (r < 0.8) return pick(rnd, ['\\ud83d\\ude00', '\\uD83C\\uDF89', '😀', '𝄞']);
    return String.fromCharCode(int(rnd, 0xa0, 0xd7ff));
  };
  const str = (): string => {
    let s = '"';
    const n = int(rnd, 0, 12);
    for (let i = 0; i < n; i++) s += char();
    return s + '"';
  };
  const num = (): string => {
    const sign = rnd() < 0.3 ? '-' : '';
    const intPart = rnd() < 0.3 ? '0' : String(int(rnd, 1, 9)) + digitString(rnd, int(rnd, 0, 30));
    const frac = rnd() < 0.5 ? '' : '.' + digitString(rnd, int(rnd, 1, 12));
    const exp = rnd() < 0.6 ? '' : pick(rnd, ['e', 'E']) + pick(rnd, ['', '+', '-']) + String(int(rnd, 0, 25));
    return sign + intPart + frac + exp;
  };
  const value = (depth: number): string => {
    const r = rnd();
    if (depth < 4 && r < 0.25) {
      const n = int(rnd, 0, 6);
      const members: string[] = [];
      for (let i = 0; i < n; i++) {
        const key = rnd() < 0.8 ? JSON.stringify(pick(rnd, keys)) : str();
        members.push(ws() + key + ws() + ':' + ws() + value(depth + 1) + ws());
      }
      return '{' + (n === 0 ? ws() : members.join(',')) + '}';
    }
    if (depth < 4 && r < 0.45) {
      const n = int(rnd, 0, 5);
      const items: string[] = [];
      for (let i = 0; i < n; i++) items.push(ws() + value(depth + 1) + ws());
      return '[' + (n === 0 ? ws() : items.join(',')) + ']';
    }
    if (r < 0.7) return str();
    if (r < 0.9) return num();
    return pick(rnd, ['true', 'false', 'null']);
  };
  const out: string[] = [];
  for (let i = 0; i < 1500; i++) out.push(ws() + value(0) + ws());
  return out;
}

describe('pgJsonbText', () => {
  it('prints hand-picked documents as x::jsonb::text does, and throws where jsonb refuses them', async () => {
    const theirs = await pgTexts('pg_temp.try_jsonb(x)', JSON_DOCS);
    expect(
      mismatches(
        JSON_DOCS,
        JSON_DOCS.map((d) => attempt(pgJsonbText, d)),
        theirs,
      ),
    ).toEqual([]);
    expect(theirs.filter((t) => t === null).length).toBeGreaterThan(40);
  });

  it('prints random documents as x::jsonb::text does', async () => {
    const docs = randomJsonDocs();
    const theirs = await pgTexts('pg_temp.try_jsonb(x)', docs);
    expect(theirs.every((t) => t !== null)).toBe(true); // the generator writes valid JSON only
    expect(mismatches(docs, docs.map(pgJsonbText), theirs)).toEqual([]);
  });
});

describe('pgTimestamptzText', () => {
  const DAY = 86_400_000_000n;
  /** µs since the epoch of a UTC calendar instant (Date.UTC handles years 1–99 wrongly: set them apart). */
  const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, us = 0): bigint => {
    const date = new Date(Date.UTC(2000, mo - 1, d, h, mi, s));
    date.setUTCFullYear(y);
    return BigInt(date.getTime()) * 1000n + BigInt(us);
  };

  it('prints instants as timestamptz::text does with TimeZone UTC', async () => {
    const values: bigint[] = [
      0n,
      1n,
      -1n,
      999_999n,
      -999_999n,
      1_000_000n,
      500_000n,
      123_000n,
      120_000n,
      100_000n,
      10n,
      DAY - 1n,
      -DAY,
      at(1, 1, 1),
      at(1, 1, 1, 0, 0, 0, 1),
      at(1, 12, 31, 23, 59, 59, 999_999),
      at(4, 2, 29, 12),
      at(99, 12, 31),
      at(100, 3, 1),
      at(999, 12, 31, 23, 59, 59, 500_000),
      at(1000, 1, 1),
      at(1582, 10, 10), // proleptic Gregorian: no Julian switch
      at(1600, 2, 29),
      at(1700, 3, 1),
      at(1899, 12, 31, 23, 59, 59, 999_999),
      at(1900, 2, 28, 23, 59, 59),
      at(1969, 12, 31, 23, 59, 59, 999_999),
      at(2000, 2, 29, 1, 2, 3, 4),
      at(2024, 2, 29, 23, 59, 59, 10),
      at(2038, 1, 19, 3, 14, 8),
      at(2100, 3, 1),
      at(2255, 6, 5, 23, 47, 34, 740_991), // around 2^53 µs
      at(9999, 12, 31, 23, 59, 59, 999_999),
      at(10000, 1, 1),
      9_007_199_254_740_991n,
      9_007_199_254_740_992n,
      9_007_199_254_740_993n,
      -9_007_199_254_740_993n,
    ];
    const rnd = prng(0x7143);
    const lo = at(1, 1, 1);
    const span = Number(at(9999, 12, 31, 23, 59, 59, 999_999) - lo);
    for (let i = 0; i < 2000; i++) {
      let v = lo + BigInt(Math.floor(rnd() * span));
      const r = rnd();
      // Whole seconds, milliseconds, or any microsecond: every fraction width shows up.
      if (r < 0.3) v -= ((v % 1_000_000n) + 1_000_000n) % 1_000_000n;
      else if (r < 0.6) v -= ((v % 1000n) + 1000n) % 1000n;
      values.push(v);
    }
    const res = await client.query<{ t: string; exact: boolean }>(
      `SELECT ts::text AS t, (extract(epoch FROM ts) * 1000000)::int8 = x AS exact
         FROM unnest($1::int8[]) WITH ORDINALITY AS u(x, i),
              LATERAL (SELECT 'epoch'::timestamptz + (x / 86400000000) * interval '1 day'
                              + (x % 86400000000) * interval '1 microsecond' AS ts) AS s
        ORDER BY i`,
      [values.map(String)],
    );
    expect(res.rows.every((r) => r.exact)).toBe(true); // the query built the intended instants
    const theirs = res.rows.map((r) => r.t);
    expect(mismatches(values, values.map(pgTimestamptzText), theirs)).toEqual([]);
  });

  it('refuses BC instants rather than print them wrong', () => {
    expect(() => pgTimestamptzText(at(1, 1, 1) - 1n)).toThrow(RangeError);
  });
});

describe('hashBytes (the row checksum)', () => {
  it("hashes every length and random UTF-8 texts as PostgreSQL's hashtextextended(text, 0) does", async () => {
    const rnd = prng(11);
    const alphabet = ['a', 'Z', '0', ',', ':', 'é', '中', '😀', ' ', '\n'];
    const texts = Array.from({ length: 1500 }, (_, i) => {
      const length = i < 100 ? i : int(rnd, 0, 700);
      return Array.from({ length }, () => pick(rnd, alphabet)).join('');
    });
    const { rows } = await client.query<{ h: string }>(
      'SELECT hashtextextended(x COLLATE "C", 0)::text AS h FROM unnest($1::text[]) WITH ORDINALITY AS u(x, i) ORDER BY i',
      [texts],
    );
    const ours = texts.map((text) => {
      const bytes = Buffer.from(text, 'utf8');
      const [high = 0, low = 0] = hashBytes(bytes, 0, bytes.length);
      return BigInt.asIntN(64, (BigInt(high) << 32n) | BigInt(low)).toString();
    });
    expect(ours).toEqual(rows.map((r) => r.h));
  });
});
