/**
 * Which text values are timestamps, and their exact instant. Accepted: ISO-8601 / SQLite forms
 * `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.ffffff]]`, with `T` or space, optional `Z` or `±HH[:MM]`.
 * Values without an offset are naive and read as UTC (the report says so). Pure.
 */

/** A parsed timestamp text. */
export interface ParsedTimestamp {
  /** Microseconds since 1970-01-01T00:00:00Z. */
  epochMicros: bigint;
  /** True when the text had no offset (read as UTC). */
  naive: boolean;
  /** True for `YYYY-MM-DD` alone. */
  dateOnly: boolean;
}

const PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Parses a timestamp text, or returns null when it is not one (or names an impossible date). */
export function parseTimestamp(text: string): ParsedTimestamp | null {
  const m = PATTERN.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', offset] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null; // 2025-02-30
  let offsetMinutes = 0;
  if (offset && offset.toUpperCase() !== 'Z') {
    const sign = offset.startsWith('-') ? -1 : 1;
    const digits = offset.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2) || '0');
    if (oh > 15 || om > 59) return null;
    offsetMinutes = sign * (oh * 60 + om);
  }
  const micros =
    BigInt(date.getTime()) * 1000n + BigInt(frac.padEnd(6, '0') || '0') - BigInt(offsetMinutes) * 60_000_000n;
  return { epochMicros: micros, naive: offset === undefined, dateOnly: m[4] === undefined && offset === undefined };
}

/** `YYYY-MM-DD HH:MM:SS.ffffff+00`, the exact text PostgreSQL parses back to the same instant. */
export function formatUtcMicros(epochMicros: bigint): string {
  const millis = epochMicros / 1000n - (epochMicros % 1000n < 0n ? 1n : 0n);
  const micros = ((epochMicros % 1_000_000n) + 1_000_000n) % 1_000_000n;
  const iso = new Date(Number(millis)).toISOString(); // 0001-01-01 … 9999-12-31 fit a JS Date
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${micros.toString().padStart(6, '0')}+00`;
}
