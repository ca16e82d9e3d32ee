/**
 * Profiles the actual values of every column in one pass per table: storage classes, integer range,
 * JSON containers, timestamps, NUL bytes and invalid UTF-8 (which better-sqlite3 would otherwise turn
 * into U+FFFD without a word). The profile, not the declared type alone, chooses the PostgreSQL type.
 */
import type Database from 'better-sqlite3';
import { parseTimestamp } from '../migration/timestamps';
import { quoteIdent } from './discover-schema';
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
  /** Up to 5 row keys of values PostgreSQL cannot store as text. */
  badRowKeys: { nul: string[]; invalidUtf8: string[] };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Registers the helper functions the profile query uses (on a connection the caller owns). */
export function registerProfileFunctions(db: Database.Database): void {
  db.function('dbops_json_container', { deterministic: true }, (text: unknown) => (isJsonContainer(text) ? 1 : 0));
  db.function('dbops_ts_kind', { deterministic: true }, (text: unknown) => {
    const parsed = typeof text === 'string' ? parseTimestamp(text) : null;
    return parsed === null ? 0 : parsed.dateOnly ? 2 : parsed.naive ? 1 : 3;
  });
  db.function('dbops_utf8_ok', { deterministic: true }, (bytes: unknown) => {
    try {
      decoder.decode(bytes as Buffer);
      return 1;
    } catch {
      return 0;
    }
  });
}

/** One aggregate query over the table: a profile per column (generated columns excluded). */
export function profileTable(db: Database.Database, table: SourceTable): Record<string, ColumnProfile> {
  const columns = table.columns.filter((c) => c.hidden === 0);
  if (columns.length === 0) return {};
  const selects = columns.flatMap((c, i) => {
    const q = quoteIdent(c.name);
    return [
      `sum(typeof(${q}) = 'null') AS n${i}_null`,
      `sum(typeof(${q}) = 'integer') AS n${i}_int`,
      `sum(typeof(${q}) = 'real') AS n${i}_real`,
      `sum(typeof(${q}) = 'text') AS n${i}_text`,
      `sum(typeof(${q}) = 'blob') AS n${i}_blob`,
      `min(CASE WHEN typeof(${q}) = 'integer' THEN ${q} END) AS n${i}_imin`,
      `max(CASE WHEN typeof(${q}) = 'integer' THEN ${q} END) AS n${i}_imax`,
      `sum(typeof(${q}) = 'integer' AND ${q} NOT IN (0, 1)) AS n${i}_not01`,
      `sum(typeof(${q}) = 'text' AND lower(${q}) IN ('t', 'f', 'true', 'false')) AS n${i}_tbool`,
      `sum(typeof(${q}) = 'text' AND dbops_json_container(${q})) AS n${i}_json`,
      `sum(typeof(${q}) = 'text' AND dbops_ts_kind(${q}) = 1) AS n${i}_ts`,
      `sum(typeof(${q}) = 'text' AND dbops_ts_kind(${q}) = 2) AS n${i}_date`,
      `sum(typeof(${q}) = 'text' AND dbops_ts_kind(${q}) = 3) AS n${i}_tsz`,
      `sum(typeof(${q}) = 'text' AND instr(CAST(${q} AS BLOB), x'00') > 0) AS n${i}_nul`,
      `sum(typeof(${q}) = 'text' AND NOT dbops_utf8_ok(CAST(${q} AS BLOB))) AS n${i}_utf8`,
      `max(CASE WHEN typeof(${q}) = 'text' THEN length(${q}) END) AS n${i}_len`,
    ];
  });
  const row = db
    .prepare(`SELECT ${selects.join(', ')} FROM ${quoteIdent(table.name)}`)
    .safeIntegers(true)
    .get() as Record<string, bigint | null>;
  const num = (key: string): number => Number(row[key] ?? 0n);
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

  return Object.fromEntries(
    columns.map((c, i) => {
      const q = quoteIdent(c.name);
      const profile: ColumnProfile = {
        nulls: num(`n${i}_null`),
        integers: num(`n${i}_int`),
        reals: num(`n${i}_real`),
        texts: num(`n${i}_text`),
        blobs: num(`n${i}_blob`),
        intMin: row[`n${i}_imin`]?.toString() ?? null,
        intMax: row[`n${i}_imax`]?.toString() ?? null,
        intsNot01: num(`n${i}_not01`),
        textBooleans: num(`n${i}_tbool`),
        jsonContainers: num(`n${i}_json`),
        timestamps: num(`n${i}_ts`) + num(`n${i}_tsz`),
        dates: num(`n${i}_date`),
        zonedTimestamps: num(`n${i}_tsz`),
        nulTexts: num(`n${i}_nul`),
        invalidUtf8: num(`n${i}_utf8`),
        maxTextChars: num(`n${i}_len`),
        badRowKeys: { nul: [], invalidUtf8: [] },
      };
      if (profile.nulTexts > 0)
        profile.badRowKeys.nul = sampleKeys(`typeof(${q}) = 'text' AND instr(CAST(${q} AS BLOB), x'00') > 0`);
      if (profile.invalidUtf8 > 0)
        profile.badRowKeys.invalidUtf8 = sampleKeys(`typeof(${q}) = 'text' AND NOT dbops_utf8_ok(CAST(${q} AS BLOB))`);
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
