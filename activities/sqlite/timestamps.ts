/**
 * Which text values are timestamps, and their exact instant. Accepted: ISO-8601 / SQLite forms
 * `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.ffffff]]`, with `T` or space, optional `Z` or `±HH[:MM]`.
 * Values without an offset are naive: read as UTC, or as wall-clock time in the source's time zone when the
 * operator names one (`sourceTimeZone`), with PostgreSQL's rules at DST changes. Pure.
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

interface TimestampFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  frac: string;
  /** Minutes east of UTC, or null when the text has no offset (naive). */
  offsetMinutes: number | null;
  dateOnly: boolean;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

let lastText: string | undefined;
let lastFields: TimestampFields | null = null;

/**
 * The fields of a timestamp text, or null when it is not one (or names an impossible date such as 02-30).
 * Remembers the last text: encoding a value and hashing it for verification read the same text twice.
 */
function readFields(text: string): TimestampFields | null {
  if (text === lastText) return lastFields;
  lastText = text;
  lastFields = parseFields(text);
  return lastFields;
}

function parseFields(text: string): TimestampFields | null {
  const m = PATTERN.exec(text) ?? (/^\s|\s$/.test(text) ? PATTERN.exec(text.trim()) : null);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const offset = m[8];
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 31))) return null;
  let offsetMinutes: number | null = null;
  if (offset !== undefined) {
    offsetMinutes = 0;
    if (offset !== 'Z' && offset !== 'z') {
      const sign = offset.charCodeAt(0) === 45 /* - */ ? -1 : 1;
      const digits = offset.length > 3 && offset[3] === ':' ? offset.slice(1, 3) + offset.slice(4) : offset.slice(1);
      const oh = Number(digits.slice(0, 2));
      const om = digits.length > 2 ? Number(digits.slice(2)) : 0;
      if (oh > 15 || om > 59) return null;
      offsetMinutes = sign * (oh * 60 + om);
    }
  }
  return {
    year,
    month,
    day,
    hour,
    minute,
    second,
    frac: m[7] ?? '',
    offsetMinutes,
    dateOnly: m[4] === undefined && offset === undefined,
  };
}

/** Whether a text is a timestamp, and of which shape, without computing its instant (profiling's fast path). */
export function timestampShape(text: string): { naive: boolean; dateOnly: boolean } | null {
  const f = readFields(text);
  return f && { naive: f.offsetMinutes === null, dateOnly: f.dateOnly };
}

/**
 * The instant of a timestamp text as a compact key, `<epoch seconds>.<microseconds>`, without Date or BigInt:
 * what verification compares on both sides (it runs once per value, so it is kept cheap). Null when the
 * text is not a timestamp.
 */
export function instantKey(text: string, timeZone?: string): string | null {
  const f = readFields(text);
  if (!f) return null;
  const wall = daysFromCivil(f.year, f.month, f.day) * 86_400 + f.hour * 3_600 + f.minute * 60 + f.second;
  const offset =
    f.offsetMinutes !== null
      ? f.offsetMinutes * 60
      : timeZone
        ? zoneOffsetForWallTime(wall * 1000, timeZone) / 1000
        : 0;
  return `${wall - offset}.${f.frac.padEnd(6, '0')}`;
}

/**
 * A timestamp text as COPY gives it to a timestamptz column when naive values mean UTC: the text itself with
 * an explicit `+00` (PostgreSQL then reads exactly the instant parseTimestamp finds; verification checks it).
 * Null when the text is not a timestamp.
 */
export function utcCopyText(text: string): string | null {
  const f = readFields(text);
  if (!f) return null;
  const trimmed = text.trim();
  if (f.dateOnly) return `${trimmed} 00:00:00+00`;
  return f.offsetMinutes === null ? `${trimmed}+00` : trimmed;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Parses a timestamp text, or returns null when it is not one (or names an impossible date). */
export function parseTimestamp(text: string, timeZone?: string): ParsedTimestamp | null {
  const f = readFields(text);
  if (!f) return null;
  const date = new Date(0);
  date.setUTCFullYear(f.year, f.month - 1, f.day); // not Date.UTC: it reads years 0–99 as 1900–1999
  date.setUTCHours(f.hour, f.minute, f.second, 0);
  const naive = f.offsetMinutes === null;
  const wallMillis = date.getTime();
  const offsetMillis = naive
    ? timeZone
      ? zoneOffsetForWallTime(wallMillis, timeZone)
      : 0
    : (f.offsetMinutes ?? 0) * 60_000;
  const micros = BigInt(wallMillis - offsetMillis) * 1000n + BigInt(f.frac.padEnd(6, '0') || '0');
  return { epochMicros: micros, naive, dateOnly: f.dateOnly };
}

/** Checks an IANA time zone name; returns a message naming the fix, or null when it is usable. */
export function timeZoneProblem(timeZone: string): string | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone }).format(0);
    return null;
  } catch {
    return `unknown time zone "${timeZone}": give an IANA name such as "Europe/Paris" or "UTC"`;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsetCache = new Map<string, number>();
const HOUR = 3_600_000;

/** The zone's UTC offset (ms, east positive) at an instant, cached per zone and minute. */
function offsetAt(instant: number, timeZone: string): number {
  const key = `${timeZone}|${Math.floor(instant / 60_000)}`;
  const cached = offsetCache.get(key);
  if (cached !== undefined) return cached;
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(timeZone, format);
  }
  const parts: Record<string, string> = {};
  for (const part of format.formatToParts(instant)) parts[part.type] = part.value;
  const year = parts.era === 'BC' || parts.era === 'B' ? 1 - Number(parts.year) : Number(parts.year);
  const wall = new Date(0);
  wall.setUTCFullYear(year, Number(parts.month) - 1, Number(parts.day));
  wall.setUTCHours(Number(parts.hour), Number(parts.minute), Number(parts.second), 0);
  const offset = wall.getTime() - (instant - (((instant % 1000) + 1000) % 1000));
  if (offsetCache.size > 100_000) offsetCache.clear();
  offsetCache.set(key, offset);
  return offset;
}

/**
 * The offset that turns a wall-clock time in `timeZone` into an instant, as PostgreSQL decides it: a time
 * that exists once uses its offset; a time that exists twice (clocks turned back) uses the offset after the
 * change; a time that does not exist (clocks turned forward) uses the offset before the change.
 */
function zoneOffsetForWallTime(wallMillis: number, timeZone: string): number {
  const before = offsetAt(wallMillis - 24 * HOUR, timeZone);
  const after = offsetAt(wallMillis + 24 * HOUR, timeZone);
  if (before === after && offsetAt(wallMillis - before, timeZone) === before) return before;
  if (offsetAt(wallMillis - after, timeZone) === after) return after; // unique after the change, or ambiguous
  if (offsetAt(wallMillis - before, timeZone) === before) return before; // unique before the change
  return before; // in the gap
}

/** `YYYY-MM-DD HH:MM:SS.ffffff+00`, the exact text PostgreSQL parses back to the same instant. */
export function formatUtcMicros(epochMicros: bigint): string {
  const millis = epochMicros / 1000n - (epochMicros % 1000n < 0n ? 1n : 0n);
  const micros = ((epochMicros % 1_000_000n) + 1_000_000n) % 1_000_000n;
  const iso = new Date(Number(millis)).toISOString(); // 0001-01-01 … 9999-12-31 fit a JS Date
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${micros.toString().padStart(6, '0')}+00`;
}
