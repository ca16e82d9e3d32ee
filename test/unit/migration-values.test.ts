import { describe, expect, it } from 'vitest';
import { planChunks } from '../../activities/migration/build-plan';
import { fitName, qi } from '../../activities/postgres/identifiers';
import { rewriteBooleanComparisons } from '../../activities/migration/rewrite-booleans';
import { frame } from '../../activities/migration/canonical-source';
import { hashBytes, RowHashSum } from '../../activities/migration/row-hash';
import { formatUtcMicros, instantKey, parseTimestamp, timeZoneProblem } from '../../activities/sqlite/timestamps';
import { translateDefault } from '../../activities/migration/translate-default';
import { copyField } from '../../activities/migration/values';
import { parseChecks, parseCreateIndex, quoteNames, splitTopLevel } from '../../activities/sqlite/sql-text';

describe('COPY text encoding', () => {
  it.each([
    ['text', 'tab\there\nnew\\line\r', 'tab\\there\\nnew\\\\line\\r'],
    ['text', '\\.', '\\\\.'],
    ['text', '', ''],
    ['text', null, '\\N'],
    ['boolean', 'false', 'f'],
    ['double', -0, '-0'],
    ['double', 1e308, '1e+308'],
    ['double', 0.1, '0.1'],
    ['double', Infinity, 'Infinity'],
    ['bytea', Buffer.from([0, 1, 254]), '\\\\x0001fe'],
    // The text itself, naive values pinned to UTC (PostgreSQL parses it; verification checks the instant).
    ['timestamptz', '2025-06-01 12:00:00', '2025-06-01 12:00:00+00'],
    ['timestamptz', '2025-06-01T12:00:00.123456-02:30', '2025-06-01T12:00:00.123456-02:30'],
    ['timestamptz', ' 2025-06-01 ', '2025-06-01 00:00:00+00'],
  ] as const)('%s %j → %j', (kind, value, field) => expect(copyField(kind, value as never)).toBe(field));
});

it('64-bit integers and integer booleans (BigInt with safeIntegers) encode exactly', () => {
  expect(copyField('bigint', 9223372036854775807n)).toBe('9223372036854775807');
  expect(copyField('bigint', -9223372036854775808n)).toBe('-9223372036854775808');
  expect(copyField('boolean', 1n)).toBe('t');
});

describe('RowHashSum', () => {
  const sum = (rows: string[]) => {
    const s = new RowHashSum();
    rows.forEach((r) => s.addText(r));
    return s.value;
  };
  const signed = (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    const [high = 0, low = 0] = hashBytes(bytes, 0, bytes.length);
    return BigInt.asIntN(64, (BigInt(high) << 32n) | BigInt(low));
  };

  it("hashes bytes exactly as PostgreSQL's hashtextextended(text, 0)", () => {
    // Values PostgreSQL 15 returns for these texts (the integration tests compare thousands more live).
    expect(signed('')).toBe(-6939563903564495251n);
    expect(signed('abc')).toBe(-6747756470228489321n);
    expect(signed('hello world, twelve+ bytes')).toBe(7698179151550224686n);
    expect(signed('12:été 😀')).toBe(-799070034726019227n);
  });

  it('is order-independent and sensitive to duplicates and to framing (NULL vs empty, field boundaries)', () => {
    expect(sum(['1:1,1:a', '1:2,1:b'])).toBe(sum(['1:2,1:b', '1:1,1:a']));
    expect(sum(['1:1,1:a'])).not.toBe(sum(['1:1,1:a', '1:1,1:a']));
    expect(frame('')).not.toBe('N');
    expect(`${frame('ab')},${frame('c')}`).not.toBe(`${frame('a')},${frame('bc')}`);
    expect(frame('😀é')).toBe('6:😀é'); // UTF-8 bytes, as SQLite's and PostgreSQL's octet_length() count them
    expect(sum([])).toBe('h64:0:0000000000000000');
  });

  it('checksums of parts merge into the whole; NUL-separated bytes and the signed sum PostgreSQL makes agree', () => {
    const rows = Array.from({ length: 500 }, (_, i) => `${String(i).length}:${i},${'x'.repeat(i % 37)}é`);
    const merged = new RowHashSum();
    for (const part of [rows.slice(0, 123), rows.slice(123, 400), rows.slice(400)]) merged.merge(sum(part));
    expect(merged.value).toBe(sum(rows));
    expect(merged.rows).toBe(500);
    expect(() => merged.merge('500:0123456789abcdef')).toThrow(/not a row checksum/);
    const separated = new RowHashSum();
    separated.addSeparated(Buffer.from(rows.join('\0'), 'utf8'), rows.length);
    expect(separated.value).toBe(sum(rows));
    const total = rows.reduce((n, row) => n + signed(row), 0n);
    expect(RowHashSum.fromSum(rows.length, String(total)).value).toBe(sum(rows));
  });
});

describe('timestamps', () => {
  it.each([
    ['2025-02-30 00:00:00'],
    ['0000-00-00 00:00:00'],
    ['2025-13-01'],
    ['12:00:00'],
    ['1627303906'],
    ['2025-01-01 24:00:00'],
    ['yesterday'],
  ])('rejects %s', (text) => expect(parseTimestamp(text)).toBeNull());

  it('parses and formats exactly, microseconds included', () => {
    const ts = parseTimestamp('1999-12-31 23:59:59.999999');
    expect(ts).toMatchObject({ naive: true, dateOnly: false });
    expect(formatUtcMicros(ts?.epochMicros ?? 0n)).toBe('1999-12-31 23:59:59.999999+00');
    expect(parseTimestamp('2024-02-29')).toMatchObject({ dateOnly: true });
    expect(parseTimestamp('2025-01-01T00:00:00Z')).toMatchObject({ naive: false, epochMicros: 1735689600000000n });
  });

  // PostgreSQL's rules (datetime-invalid-input): an ambiguous wall time takes the offset after the change,
  // a time in the gap the offset before it. New York: clocks forward 2025-03-09 02:00, back 2025-11-02 02:00.
  it.each([
    ['2025-01-15 12:00:00', '2025-01-15 17:00:00.000000+00'],
    ['2025-07-15 12:00:00.25', '2025-07-15 16:00:00.250000+00'],
    ['2025-03-09 01:59:59', '2025-03-09 06:59:59.000000+00'],
    ['2025-03-09 02:30:00', '2025-03-09 07:30:00.000000+00'], // does not exist: read as EST → 03:30 EDT
    ['2025-03-09 03:00:00', '2025-03-09 07:00:00.000000+00'],
    ['2025-11-02 01:30:00', '2025-11-02 06:30:00.000000+00'], // twice: the second (EST)
    ['2025-11-02 00:59:00', '2025-11-02 04:59:00.000000+00'],
    ['2025-11-02 02:00:00', '2025-11-02 07:00:00.000000+00'],
    ['2025-01-15T12:00:00+01:00', '2025-01-15 11:00:00.000000+00'], // an explicit offset wins over the zone
  ])('naive %s in America/New_York → %s', (text, utc) => {
    expect(formatUtcMicros(parseTimestamp(text, 'America/New_York')?.epochMicros ?? 0n)).toBe(utc);
  });

  it.each([
    ['1970-01-01 00:00:00', undefined],
    ['1969-12-31 23:59:59.999999', undefined],
    ['0001-01-01', undefined],
    ['9999-12-31T23:59:59.5Z', undefined],
    ['2024-02-29 12:00:00+05:45', undefined],
    ['1900-03-01 00:00:00', undefined],
    ['2025-03-09 02:30:00', 'America/New_York'],
    ['2025-11-02 01:30:00', 'America/New_York'],
  ])('instantKey(%s, %s) names the instant parseTimestamp computes', (text, zone) => {
    const parsed = parseTimestamp(text, zone)?.epochMicros ?? 0n;
    const [seconds = '', micros = ''] = instantKey(text, zone)?.split('.') ?? [];
    expect(BigInt(seconds) * 1_000_000n + BigInt(micros)).toBe(parsed);
  });

  it('a half-hour zone and a zone name that does not exist', () => {
    expect(formatUtcMicros(parseTimestamp('2025-06-01 00:00:00', 'Asia/Kolkata')?.epochMicros ?? 0n)).toBe(
      '2025-05-31 18:30:00.000000+00',
    );
    expect(timeZoneProblem('Europe/Paris')).toBeNull();
    expect(timeZoneProblem('Mars/Olympus')).toMatch(/unknown time zone "Mars\/Olympus": give an IANA name/);
  });
});

describe('defaults', () => {
  it.each([
    ['CURRENT_TIMESTAMP', 'timestamptz', 'now()'],
    ["(datetime('now'))", 'timestamptz', 'now()'],
    ['CURRENT_TIMESTAMP', 'text', "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"],
    ['1', 'boolean', 'true'],
    ["'f'", 'boolean', 'false'],
    ['-1', 'bigint', '-1'],
    ['\'"0"\'', 'text', '\'"0"\''],
    ["'{}'", 'jsonb', "'{}'::jsonb"],
    ["''", 'text', "''"],
    ['NULL', 'text', null],
    ["'it''s'", 'text', "'it''s'"],
    ['FALSE', 'boolean', 'false'],
    ['true', 'bigint', '1'],
    ["'2025-01-01 00:00:00'", 'timestamptz', "'2025-01-01 00:00:00.000000+00'::timestamptz"],
  ] as const)('%s (%s) → %s', (sqlite, kind, pg) => {
    expect(translateDefault(sqlite, kind)).toEqual({ sql: pg });
  });

  it.each([
    ["strftime('%s','now')", 'bigint'],
    ["'toto'", 'bigint'],
    ['CURRENT_TIMESTAMP', 'bigint'],
    ["x'00'", 'bytea'],
  ] as const)('%s (%s) is reported, not guessed', (sqlite, kind) => {
    const out = translateDefault(sqlite, kind);
    expect(out.sql).toBeNull();
    expect(out.warning).toContain('without a default');
  });
});

describe('SQL text readers', () => {
  it('reads index keys and partial WHERE, skipping quotes and nested parentheses', () => {
    expect(
      parseCreateIndex(
        'CREATE UNIQUE INDEX "i on" ON "t" (lower("a,b"), substr(c, 1, 2) DESC) WHERE "x" = \'(ON)\' AND y IN (1,2)',
      ),
    ).toEqual({
      keys: ['lower("a,b")', 'substr(c, 1, 2) DESC'],
      where: '"x" = \'(ON)\' AND y IN (1,2)',
    });
    expect(splitTopLevel("a, 'b,c', f(d, e)")).toEqual(['a', "'b,c'", 'f(d, e)']);
  });

  it('finds every CHECK, not CHECKs inside strings or names', () => {
    const sql = `CREATE TABLE t (a INT CHECK (a > 0), "check" TEXT DEFAULT 'CHECK (no)', b INT, CHECK (b BETWEEN 1 AND (a + 5)))`;
    expect(parseChecks(sql)).toEqual(['a > 0', 'b BETWEEN 1 AND (a + 5)']);
  });
});

describe('names, chunks, boolean rewrites', () => {
  it('keeps names within 63 bytes, distinct after truncation', () => {
    const long1 = `${'é'.repeat(40)}_one`;
    const long2 = `${'é'.repeat(40)}_two`;
    expect(Buffer.byteLength(fitName(long1))).toBeLessThanOrEqual(63);
    expect(fitName(long1)).not.toBe(fitName(long2));
    expect(fitName('short')).toBe('short');
    expect(qi('we"ird')).toBe('"we""ird"');
  });

  it('splits rowid ranges into contiguous chunks covering everything', () => {
    const chunks = planChunks({ rowCount: 10, rowidRange: { min: '5', max: '104' } }, 3);
    expect(chunks[0]).toEqual({ index: 0, from: '5', to: '29' });
    expect(chunks.at(-1)?.to).toBe('104');
    for (let i = 1; i < chunks.length; i++)
      expect(BigInt(chunks[i]?.from ?? 0)).toBe(BigInt(chunks[i - 1]?.to ?? 0) + 1n);
    expect(planChunks({ rowCount: 10, rowidRange: null }, 3)).toEqual([{ index: 0 }]);
  });

  it('rewrites boolean comparisons with 0/1 only for boolean columns', () => {
    expect(
      rewriteBooleanComparisons('WHERE active = 1 AND "deleted" != 0 AND n = 1 AND active_count = 0', [
        'active',
        'deleted',
      ]),
    ).toBe('WHERE active = true AND "deleted" = true AND n = 1 AND active_count = 0');
  });
});

describe('quoteNames', () => {
  const names = ['UserName', 'Active', 'id', 'Account'];
  it.each([
    ['lower(username)', 'lower("UserName")'],
    ['active = 1 AND USERNAME IS NOT NULL', '"Active" = 1 AND "UserName" IS NOT NULL'],
    ["username = 'UserName' AND \"UserName\" <> ''", '"UserName" = \'UserName\' AND "UserName" <> \'\''],
    [
      'SELECT username AS UserName FROM account a -- username\n',
      'SELECT "UserName" AS UserName FROM "Account" a -- username\n',
    ],
    ['CAST(active AS Active) + id + active(1)', 'CAST("Active" AS Active) + id + active(1)'],
    ['a.username /* active */ + b_username', 'a."UserName" /* active */ + b_username'],
  ])('%s → %s', (sql, expected) => {
    expect(quoteNames(sql, names)).toBe(expected);
  });
});
