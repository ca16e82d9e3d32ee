import { describe, expect, it } from 'vitest';
import { affinityOf, chooseType } from '../../activities/migration/choose-type';
import { type ColumnProfile, decimalDigits, emptyCounts } from '../../activities/sqlite/profile-columns';
import type { SourceColumn, SourceTable } from '../../activities/sqlite/source-schema';
import { buildPlan } from '../../activities/migration/build-plan';

const column = (declaredType: string, name = 'c'): SourceColumn => ({
  name,
  declaredType,
  notNull: false,
  defaultSql: null,
  pkPosition: 0,
  hidden: 0,
});
const profile = (p: Partial<ColumnProfile>): ColumnProfile => ({
  ...emptyCounts(),
  intMin: null,
  intMax: null,
  badRowKeys: { nul: [], invalidUtf8: [] },
  ...p,
});

describe('affinityOf (sqlite.org/datatype3.html rules)', () => {
  it.each([
    ['INTEGER', 'INTEGER'],
    ['unsigned big int', 'INTEGER'],
    ['int(11)', 'INTEGER'],
    ['POINT', 'INTEGER'],
    ['VARCHAR(20)', 'TEXT'],
    ['varying character(20)', 'TEXT'],
    ['CLOB', 'TEXT'],
    ['text nocase', 'TEXT'],
    ['BLOB', 'BLOB'],
    ['', 'BLOB'],
    ['REAL', 'REAL'],
    ['"double precision"', 'REAL'],
    ['FLOAT', 'REAL'],
    ['NUMERIC(5,2)', 'NUMERIC'],
    ['DATETIME', 'NUMERIC'],
    ['BOOLEAN', 'NUMERIC'],
    ['timestampz', 'NUMERIC'],
  ])('%s → %s', (declared, affinity) => expect(affinityOf(declared)).toBe(affinity));
});

describe('chooseType', () => {
  it.each([
    [
      'INTEGER all ints',
      column('INTEGER'),
      profile({ integers: 5, intMin: '-9223372036854775808', intMax: '9223372036854775807' }),
      'bigint',
    ],
    ['BOOLEAN 0/1', column('BOOLEAN'), profile({ integers: 4, intMin: '0', intMax: '1' }), 'boolean'],
    ["BOOLEAN 't'/'false'", column('BOOLEAN'), profile({ texts: 3, textBooleans: 3 }), 'boolean'],
    ['REAL doubles', column('REAL'), profile({ reals: 3, integers: 1, intMin: '1', intMax: '1' }), 'double precision'],
    ['TEXT of JSON objects', column('TEXT'), profile({ texts: 3, jsonContainers: 3 }), 'jsonb'],
    ['JSON declared', column('JSON'), profile({ texts: 2, jsonContainers: 2 }), 'jsonb'],
    ['TEXT of timestamps', column('TEXT'), profile({ texts: 3, timestamps: 3 }), 'timestamptz'],
    ['DATETIME of timestamps', column('DATETIME'), profile({ texts: 3, timestamps: 2, dates: 1 }), 'timestamptz'],
    ['DATE of dates', column('DATE'), profile({ texts: 3, dates: 3 }), 'date'],
    ['VARCHAR(10) fitting', column('VARCHAR(10)'), profile({ texts: 3, maxTextChars: 10 }), 'varchar(10)'],
    ['BLOB', column('BLOB'), profile({ blobs: 2 }), 'bytea'],
    ['untyped mix of text and ints', column(''), profile({ texts: 1, integers: 1, intMin: '1', intMax: '1' }), 'text'],
    [
      'NUMERIC(5,2) whose values fit',
      column('NUMERIC(5,2)'),
      profile({ reals: 2, maxIntDigits: 3, maxFracDigits: 2 }),
      'numeric(5,2)',
    ],
    [
      'DECIMAL(12) of integers',
      column('DECIMAL(12)'),
      profile({ integers: 2, intMin: '1', intMax: '99', maxIntDigits: 2 }),
      'numeric(12,0)',
    ],
    [
      'NUMERIC without precision',
      column('NUMERIC'),
      profile({ reals: 2, maxIntDigits: 3, maxFracDigits: 9 }),
      'numeric',
    ],
    ['empty DATETIME', column('DATETIME'), profile({ nulls: 3 }), 'timestamptz'],
  ])('%s → %s', (_label, col, p, sqlType) => {
    const choice = chooseType('t', col, p, false);
    expect(choice.sqlType).toBe(sqlType);
    expect(choice.widened).toBeUndefined();
    expect(choice.fatal).toBeUndefined();
    expect(choice.reason.length).toBeGreaterThan(5);
  });

  it.each([
    [
      'INTEGER holding text',
      column('INTEGER'),
      profile({ integers: 2, texts: 1, intMin: '1', intMax: '2' }),
      'text',
      /declared INTEGER but holds 2 integer, 1 text → kept as text/,
    ],
    [
      'BOOLEAN holding 2',
      column('BOOLEAN'),
      profile({ integers: 3, intsNot01: 1, intMin: '0', intMax: '2' }),
      'bigint',
      /values other than 0\/1/,
    ],
    [
      'JSON holding invalid JSON',
      column('JSON'),
      profile({ texts: 3, jsonContainers: 2 }),
      'text',
      /1 value\(s\) are not JSON/,
    ],
    [
      'NUMERIC(10,2) holding 0.30000000000000004',
      column('NUMERIC(10,2)'),
      profile({ reals: 2, maxIntDigits: 1, maxFracDigits: 17, maxFracDigitsValue: '0.30000000000000004' }),
      'numeric',
      /declared NUMERIC\(10,2\) but 0\.30000000000000004 has 17 digits after the point, more than numeric\(10,2\) holds → kept as numeric/,
    ],
    [
      'NUMERIC(5,2) holding 123456.5',
      column('NUMERIC(5,2)'),
      profile({ reals: 1, maxIntDigits: 6, maxFracDigits: 1, maxIntDigitsValue: '123456.5' }),
      'numeric',
      /123456\.5 has 6 digits before the point/,
    ],
    [
      'VARCHAR(10) holding 500 characters',
      column('VARCHAR(10)'),
      profile({ texts: 3, maxTextChars: 500 }),
      'text',
      /longest value has 500 characters/,
    ],
    [
      'DATETIME holding Unix seconds',
      column('DATETIME'),
      profile({ integers: 3, intMin: '1627303906', intMax: '1627303999' }),
      'bigint',
      /not ISO-8601 timestamps/,
    ],
    [
      'REAL holding text',
      column('REAL'),
      profile({ reals: 1, texts: 1 }),
      'text',
      /declared REAL but holds 1 real, 1 text/,
    ],
    [
      'INTEGER holding big ints and reals',
      column('INTEGER'),
      profile({ integers: 1, reals: 1, intMin: '9007199254740993', intMax: '9007199254740993' }),
      'numeric',
      /holds 1 integer, 1 real → kept as numeric \(lossless\)/,
    ],
    [
      'TEXT holding a blob',
      column('TEXT'),
      profile({ texts: 1, blobs: 1 }),
      'bytea',
      /holds 1 text, 1 blob → kept as bytea \(lossless\)/,
    ],
  ])('widens %s to %s and says why (a failure under --strict)', (_label, col, p, sqlType, reason) => {
    const choice = chooseType('t', col, p, false);
    expect(choice.sqlType).toBe(sqlType);
    expect(choice.widened).toBeDefined();
    expect(choice.reason).toMatch(reason);
  });

  it('values PostgreSQL cannot store are fatal, naming table, column and rows', () => {
    const nul = chooseType(
      'notes',
      column('TEXT', 'body'),
      profile({ texts: 3, nulTexts: 1, badRowKeys: { nul: ['rowid 7'], invalidUtf8: [] } }),
      false,
    );
    expect(nul.fatal).toMatch(
      /^notes\.body holds 1 value\(s\) with a NUL byte \(rows: rowid 7\).*declare the column BLOB/,
    );
    const utf8 = chooseType(
      'notes',
      column('TEXT', 'body'),
      profile({ texts: 3, invalidUtf8: 2, badRowKeys: { nul: [], invalidUtf8: ['rowid 1', 'rowid 2'] } }),
      false,
    );
    expect(utf8.fatal).toMatch(/2 value\(s\) that are not valid UTF-8 \(rows: rowid 1; rowid 2\)/);
  });

  it('a rowid alias is a bigint identity whatever else', () => {
    expect(
      chooseType('t', column('INTEGER', 'id'), profile({ integers: 3, intMin: '1', intMax: '3' }), true),
    ).toMatchObject({ sqlType: 'bigint', reason: expect.stringContaining('identity') });
  });
});

describe('buildPlan limits', () => {
  const table = (columns: SourceColumn[]): SourceTable => ({
    name: 't',
    columns,
    withoutRowid: false,
    strict: false,
    rowidAlias: null,
    autoincrement: false,
    sequence: null,
    indexes: [],
    foreignKeys: [],
    checks: [],
    rowCount: 1,
    rowidRange: { min: '1', max: '1' },
    sql: 'CREATE TABLE t (…)',
  });
  const plan = (t: SourceTable, profiles: Record<string, ColumnProfile>) =>
    buildPlan(
      { tables: [t], views: [], triggers: [], virtualTables: [], encoding: 'UTF-8', sqliteVersion: '3' },
      { t: profiles },
      { strict: false, chunkRows: 1000, orphans: {} },
    );

  it('refuses a value over 256 MiB, naming the column and the way out', () => {
    const out = plan(table([column('BLOB', 'b')]), { b: profile({ blobs: 1, maxValueBytes: 300 * 2 ** 20 }) });
    expect(out.fatal).toEqual([
      expect.stringMatching(/^t\.b holds a value of 300 MiB; dbops copies values up to 256 MiB/),
    ]);
  });

  it('accepts a value of exactly 256 MiB', () => {
    const out = plan(table([column('BLOB', 'b')]), { b: profile({ blobs: 1, maxValueBytes: 256 * 2 ** 20 }) });
    expect(out.fatal).toEqual([]);
  });
});

describe('decimalDigits', () => {
  it.each([
    [12.34, 2, 2],
    [0.1 + 0.2, 0, 17],
    [1e-7, 0, 7],
    [1.5e-7, 0, 8],
    [1e21, 22, 0],
    [0.05, 0, 2],
    [-3.14159, 1, 5],
    [0, 0, 0],
  ])('%s has %i digit(s) before the point and %i after', (value, int, frac) => {
    expect(decimalDigits(value)).toEqual({ int, frac });
  });
});
