/**
 * The text PostgreSQL 15 prints (`col::text`) for a value migrated from SQLite, computed on the source side so
 * a verification can compare the two texts without trusting either driver. Session settings assumed:
 * DateStyle 'ISO, YMD', IntervalStyle 'postgres', extra_float_digits 3, bytea_output 'hex', TimeZone 'UTC'.
 * Written from PostgreSQL's behaviour, independently of the import path, so a shared mistake cannot hide.
 * These run once per value: no regexes or BigInt on the common paths.
 */

/**
 * `value::float8::text`. PostgreSQL prints the shortest round-trip digits (as JS does) but lays them out like
 * printf's %g: fixed notation when the decimal exponent is in [-4, 15), else `d.ddde±XX` with at least two
 * exponent digits. Comparing the value with 1e-4 and 1e15 is exact: a double's shortest text reads back as it.
 * One difference in the digits: PostgreSQL's Ryu never prints a decimal lying exactly halfway to a neighbouring
 * double (JS may, when the mantissa is even: 1e23 is `9.999999999999999e+22` there); see `halfwayFix`.
 */
export function pgFloat8Text(value: number): string {
  const abs = value < 0 ? -value : value;
  // JS's own fixed layout (`0.000ddd`, `ddd.ddd`, `ddd000`) is PostgreSQL's in this range.
  if (abs >= 1e-4 && abs < 1e15) return String(value);
  if (value === 0) return 1 / value < 0 ? '-0' : '0';
  if (value !== value) return 'NaN';
  if (abs === Infinity) return value > 0 ? 'Infinity' : '-Infinity';
  let s = value.toExponential(); // shortest digits, `d.ddde+X`
  if (abs >= TWO_54) {
    const fixed = halfwayFix(abs, s);
    if (fixed !== undefined) s = value < 0 ? '-' + fixed : fixed;
  }
  const e = s.indexOf('e');
  return s.length - e === 3 ? s.slice(0, e + 2) + '0' + s.slice(e + 2) : s;
}

const TWO_54 = 2 ** 54;
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0; // index of the high word

/**
 * For a double ≥ 2^54 whose shortest text `s` (toExponential, either sign) is exactly the midpoint to a
 * neighbour, the text PostgreSQL prints instead (unsigned, `d.ddde+X`); undefined when `s` stands. Below 2^54 a
 * midpoint needs more digits than the value itself, so it is never the shortest. The midpoint's power of two is
 * checked first from the last digits, so BigInt only runs for the rare candidates.
 */
function halfwayFix(abs: number, s: string): string | undefined {
  F64[0] = abs;
  const hi = U32[HI]!;
  const mantissaZero = (hi & 0xfffff) === 0 && U32[1 - HI] === 0;
  const ulpExp = ((hi >>> 20) & 0x7ff) - 1075; // abs is a multiple of 2^ulpExp, the gap to the next double
  const start = s.charCodeAt(0) === 45 ? 1 : 0;
  const e = s.indexOf('e');
  const digits = e > start + 1 ? s[start] + s.slice(start + 2, e) : s.slice(start, e);
  const k = Number(s.slice(e + 1)) - digits.length + 1; // s = digits × 10^k, k ≥ 0 here
  // 2-adic valuation of digits × 10^k; the last 8 digits decide it unless they are a multiple of 2^8.
  let low = 0;
  for (let i = digits.length > 8 ? digits.length - 8 : 0; i < digits.length; i++) {
    low = low * 10 + (digits.charCodeAt(i) - 48);
  }
  let v2 = 0;
  while ((low & 1) === 0 && low !== 0) {
    low /= 2;
    v2++;
  }
  if (v2 < 8 || digits.length <= 8) {
    // Midpoints are abs ± 2^(ulpExp-1), or abs - 2^(ulpExp-2) below a power of two.
    const t = v2 + k;
    if (t !== ulpExp - 1 && !(mantissaZero && t === ulpExp - 2)) return undefined;
  }
  const x = BigInt(abs);
  const half = 1n << BigInt(ulpExp - 1);
  const below = mantissaZero ? half >> 1n : half;
  const value = BigInt(digits) * 10n ** BigInt(k);
  if (value !== x + half && value !== x - below) return undefined;
  // Ryu without the bounds: the fewest digits strictly inside (x - below, x + half), nearest to x.
  const xDigits = x.toString().length;
  for (let n = digits.length; ; n++) {
    const step = 10n ** BigInt(xDigits - n);
    const down = x - (x % step);
    const up = down + step;
    const downIn = down > x - below;
    const upIn = up < x + half;
    let pick: bigint | undefined;
    if (downIn && upIn) pick = x - down <= up - x ? down : up;
    else if (downIn) pick = down;
    else if (upIn) pick = up;
    if (pick === undefined) continue;
    const text = pick.toString();
    let end = text.length;
    while (text.charCodeAt(end - 1) === 48) end--;
    return text[0] + (end > 1 ? '.' + text.slice(1, end) : '') + 'e+' + (text.length - 1);
  }
}

/**
 * `trim_scale(x::numeric)::text`: plain decimal, no exponent, no trailing fractional zeros. A JS number reaches
 * PostgreSQL as `String(value)`, a bigint as its digits, a string as is (numeric_in's syntax, which PostgreSQL
 * 15 reads with surrounding whitespace, `inf`/`nan` in any case and a C-strtol exponent). Throws where
 * PostgreSQL would reject the input.
 */
export function pgNumericText(value: number | bigint | string): string {
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'number') {
    if (value !== value) return 'NaN';
    if (value === Infinity) return 'Infinity';
    if (value === -Infinity) return '-Infinity';
    const s = String(value); // `-0` prints `0`; JS never prints trailing fractional zeros
    if (s.indexOf('e') < 0) return s;
    return numericInText(s, true);
  }
  return numericInText(value, true);
}

/**
 * `x::jsonb::text`. jsonb sorts object keys by UTF-8 byte length, then bytewise; the last of duplicate keys
 * wins; separators are `": "` and `", "`; strings are decoded then re-escaped (only `"`, `\`, `\b\f\n\r\t` and
 * other controls as lowercase `\u00xx`; `/` and non-ASCII stay literal); numbers are numeric_in then
 * numeric_out of the literal, which keeps its scale (`1.50`, `1.20e-1` → `0.120`). Throws on input
 * PostgreSQL rejects (invalid JSON, `\u0000`, unpaired surrogate escapes, numbers numeric cannot hold).
 */
export function pgJsonbText(json: string): string {
  const parser = new JsonbParser(json);
  parser.skipSpace();
  const out = parser.value();
  parser.skipSpace();
  if (parser.pos !== json.length) parser.fail();
  return out;
}

/**
 * A timestamptz at `epochMicros` (µs since 1970-01-01 UTC) as PostgreSQL prints it with TimeZone UTC:
 * `YYYY-MM-DD HH:MM:SS[.f]+00`, the fraction only when nonzero and without trailing zeros. Years 1 to
 * 294276 (PostgreSQL's range, BC excluded).
 */
export function pgTimestamptzText(epochMicros: bigint): string {
  let secs: number;
  let micros: number;
  const n = Number(epochMicros);
  if (n >= -9007199254740991 && n <= 9007199254740991) {
    // Exact in doubles (years ~1685–2255, the common case): spare the BigInt arithmetic.
    micros = n % 1e6;
    if (micros < 0) micros += 1e6;
    secs = (n - micros) / 1e6;
  } else {
    let m = epochMicros % 1000000n;
    if (m < 0n) m += 1000000n;
    micros = Number(m);
    secs = Number((epochMicros - m) / 1000000n);
  }
  let sod = secs % 86400;
  if (sod < 0) sod += 86400;
  const days = (secs - sod) / 86400;
  // Proleptic Gregorian civil date from days since 1970-01-01 (H. Hinnant's days_from_civil, inverted).
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 1 || year > 294276) throw new RangeError(`timestamp out of range: ${epochMicros} µs`);
  const hour = Math.floor(sod / 3600);
  const minute = Math.floor((sod % 3600) / 60);
  const second = sod % 60;
  let text =
    (year < 1000 ? (year < 10 ? '000' : year < 100 ? '00' : '0') : '') +
    year +
    '-' +
    two(month) +
    '-' +
    two(day) +
    ' ' +
    two(hour) +
    ':' +
    two(minute) +
    ':' +
    two(second);
  if (micros !== 0) {
    let frac = micros;
    let width = 6;
    while (frac % 10 === 0) {
      frac /= 10;
      width--;
    }
    const digits = String(frac);
    text += '.' + '000000'.slice(0, width - digits.length) + digits;
  }
  return text + '+00';
}

function two(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

// numeric's storage limits (PostgreSQL 15): at most 131072 digits before the point (weight ≤ 32767 base-10000
// digits) and 16383 after it (display scale); numeric_in also refuses exponents beyond ±(INT_MAX/2).
const NUMERIC_MAX_INT_DIGITS = 131072;
const NUMERIC_MAX_SCALE = 16383;
const NUMERIC_MAX_EXPONENT = 1073741823;

function isCSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** Case-insensitive ASCII prefix test of `s` at `at` against lowercase `word`. */
function startsWithCi(s: string, at: number, word: string): boolean {
  if (s.length - at < word.length) return false;
  for (let i = 0; i < word.length; i++) {
    let c = s.charCodeAt(at + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== word.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * numeric_in then numeric_out of `text`; with `trim`, trim_scale in between. Mirrors PostgreSQL 15: leading
 * and trailing C whitespace, NaN/Infinity/inf with optional sign (not on NaN), `[+-]digits[.digits]` or
 * `[+-].digits`, then `e`/`E` and a strtol integer (which itself may start with whitespace and a sign).
 */
function numericInText(text: string, trim: boolean): string {
  const len = text.length;
  let i = 0;
  while (i < len && isCSpace(text.charCodeAt(i))) i++;
  let special: string | undefined;
  if (startsWithCi(text, i, 'nan')) {
    special = 'NaN';
    i += 3;
  } else if (startsWithCi(text, i, 'infinity')) {
    special = 'Infinity';
    i += 8;
  } else if (startsWithCi(text, i, '+infinity')) {
    special = 'Infinity';
    i += 9;
  } else if (startsWithCi(text, i, '-infinity')) {
    special = '-Infinity';
    i += 9;
  } else if (startsWithCi(text, i, 'inf')) {
    special = 'Infinity';
    i += 3;
  } else if (startsWithCi(text, i, '+inf')) {
    special = 'Infinity';
    i += 4;
  } else if (startsWithCi(text, i, '-inf')) {
    special = '-Infinity';
    i += 4;
  }
  if (special !== undefined) {
    while (i < len && isCSpace(text.charCodeAt(i))) i++;
    if (i !== len) throw numericSyntax(text);
    return special;
  }
  let negative = false;
  let c = text.charCodeAt(i);
  if (c === 43 || c === 45) {
    negative = c === 45;
    i++;
  }
  const digitsStart = i;
  let point = -1;
  let digitCount = 0;
  for (; i < len; i++) {
    c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digitCount++;
    else if (c === 46 && point < 0) point = i;
    else break;
  }
  if (digitCount === 0) throw numericSyntax(text);
  const digitsEnd = i;
  let exponent = 0;
  if (c === 101 || c === 69) {
    i++;
    let j = i;
    while (j < len && isCSpace(text.charCodeAt(j))) j++;
    let expNegative = false;
    c = text.charCodeAt(j);
    if (c === 43 || c === 45) {
      expNegative = c === 45;
      j++;
    }
    const expStart = j;
    for (; j < len; j++) {
      c = text.charCodeAt(j);
      if (c < 48 || c > 57) break;
      if (exponent < NUMERIC_MAX_EXPONENT) exponent = exponent * 10 + (c - 48);
    }
    if (j === expStart) throw numericSyntax(text);
    if (exponent >= NUMERIC_MAX_EXPONENT) throw numericOverflow(text);
    if (expNegative) exponent = -exponent;
    i = j;
  }
  while (i < len && isCSpace(text.charCodeAt(i))) i++;
  if (i !== len) throw numericSyntax(text);
  const fracDigits = point < 0 ? 0 : digitsEnd - point - 1;
  let scale = fracDigits - exponent;
  if (scale < 0) scale = 0;
  if (scale > NUMERIC_MAX_SCALE) throw numericOverflow(text);
  const digits =
    point < 0 ? text.slice(digitsStart, digitsEnd) : text.slice(digitsStart, point) + text.slice(point + 1, digitsEnd);
  return formatDecimal(digits, digitCount - fracDigits + exponent, negative, trim ? -1 : scale, text);
}

/**
 * numeric_out of the value `0.digits × 10^intDigits` (so `intDigits` digits sit before the point) with
 * `scale` fractional digits, or with trailing fractional zeros trimmed when `scale` is -1. Zero has no sign.
 */
function formatDecimal(digits: string, intDigits: number, negative: boolean, scale: number, source: string): string {
  let first = 0;
  const n = digits.length;
  while (first < n && digits.charCodeAt(first) === 48) first++;
  if (first === n) {
    // Zero: numeric keeps the scale but not the sign.
    return scale > 0 ? '0.' + '0'.repeat(scale) : '0';
  }
  let last = n - 1;
  while (digits.charCodeAt(last) === 48) last--;
  const point = intDigits - first; // digits of the significant run [first, last] before the point
  if (point > NUMERIC_MAX_INT_DIGITS) throw numericOverflow(source);
  if (scale < 0) {
    scale = last - first + 1 - point;
    if (scale < 0) scale = 0;
  }
  let text = negative ? '-' : '';
  if (point <= 0) text += '0';
  else {
    const avail = last + 1 - first;
    text +=
      point <= avail ? digits.slice(first, first + point) : digits.slice(first, last + 1) + '0'.repeat(point - avail);
  }
  if (scale > 0) {
    text += '.';
    // Fraction positions are relative to the first significant digit: position k is digits[first + point + k].
    let k = 0;
    if (point < 0) {
      const zeros = -point < scale ? -point : scale;
      text += '0'.repeat(zeros);
      k = zeros;
    }
    const from = first + point + k;
    const upto = first + point + scale; // exclusive
    const end = upto < last + 1 ? upto : last + 1;
    if (end > from) text += digits.slice(from, end);
    const written = (end > from ? end - from : 0) + k;
    if (written < scale) text += '0'.repeat(scale - written);
  }
  return text;
}

function numericSyntax(text: string): Error {
  return new Error(`invalid input syntax for type numeric: ${JSON.stringify(text.slice(0, 100))}`);
}

function numericOverflow(text: string): Error {
  return new RangeError(`value overflows numeric format: ${JSON.stringify(text.slice(0, 100))}`);
}

/** One object member while its object is parsed: `key` decoded (for ordering), `text` the printed pair. */
interface Member {
  key: string;
  bytes: number;
  text: string;
  order: number;
}

/** UTF-8 byte length of a well-formed UTF-16 string (a surrogate pair is 2 + 2). */
function utf8Length(s: string): number {
  let bytes = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) bytes += c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 1 : 2;
  }
  return bytes;
}

/**
 * jsonb's key order (length first, then memcmp) on equal-length keys, then input order so that after a stable
 * sort the last duplicate is the last of its run. UTF-8 byte order is code point order, which UTF-16 unit order
 * breaks only between a surrogate and U+E000..U+FFFF.
 */
function compareMembers(a: Member, b: Member): number {
  if (a.bytes !== b.bytes) return a.bytes - b.bytes;
  const x = a.key;
  const y = b.key;
  if (x === y) return a.order - b.order;
  const n = x.length < y.length ? x.length : y.length;
  for (let i = 0; i < n; i++) {
    let cx = x.charCodeAt(i);
    let cy = y.charCodeAt(i);
    if (cx !== cy) {
      if (cx >= 0xd800 && cy >= 0xd800) {
        cx += cx >= 0xe000 ? -0x800 : 0x2000;
        cy += cy >= 0xe000 ? -0x800 : 0x2000;
      }
      return cx - cy;
    }
  }
  return x.length - y.length;
}

/** `s` quoted as escape_json prints it. */
function escapeJson(s: string): string {
  let out = '"';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 34 && c !== 92) continue;
    if (i > from) out += s.slice(from, i);
    from = i + 1;
    switch (c) {
      case 34:
        out += '\\"';
        break;
      case 92:
        out += '\\\\';
        break;
      case 8:
        out += '\\b';
        break;
      case 12:
        out += '\\f';
        break;
      case 10:
        out += '\\n';
        break;
      case 13:
        out += '\\r';
        break;
      case 9:
        out += '\\t';
        break;
      default:
        out += (c < 16 ? '\\u000' : '\\u001') + (c & 15).toString(16);
    }
  }
  return out + (from === 0 ? s : s.slice(from)) + '"';
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Recursive-descent JSON reader that prints each value as jsonb output while it reads it. */
class JsonbParser {
  pos = 0;
  /** Decoded text of the last string read (for keys). */
  decoded = '';

  constructor(private readonly src: string) {}

  fail(): never {
    const at = this.pos;
    throw new SyntaxError(
      `invalid input syntax for type json at offset ${at}: ${JSON.stringify(this.src.slice(at, at + 20))}`,
    );
  }

  skipSpace(): void {
    const s = this.src;
    let i = this.pos;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
    }
    this.pos = i;
  }

  value(): string {
    const s = this.src;
    const c = s.charCodeAt(this.pos);
    switch (c) {
      case 123:
        return this.object();
      case 91:
        return this.array();
      case 34:
        return this.string();
      case 116:
        return this.literal('true');
      case 102:
        return this.literal('false');
      case 110:
        return this.literal('null');
      default:
        if (c === 45 || (c >= 48 && c <= 57)) return this.number();
        return this.fail();
    }
  }

  private literal(word: string): string {
    if (!this.src.startsWith(word, this.pos)) this.fail();
    this.pos += word.length;
    return word;
  }

  private array(): string {
    const s = this.src;
    this.pos++;
    this.skipSpace();
    if (s.charCodeAt(this.pos) === 93) {
      this.pos++;
      return '[]';
    }
    let out = '[';
    for (;;) {
      out += this.value();
      this.skipSpace();
      const c = s.charCodeAt(this.pos++);
      if (c === 93) return out + ']';
      if (c !== 44) {
        this.pos--;
        this.fail();
      }
      out += ', ';
      this.skipSpace();
    }
  }

  private object(): string {
    const s = this.src;
    this.pos++;
    this.skipSpace();
    if (s.charCodeAt(this.pos) === 125) {
      this.pos++;
      return '{}';
    }
    const members: Member[] = [];
    for (;;) {
      if (s.charCodeAt(this.pos) !== 34) this.fail();
      const keyText = this.string();
      const key = this.decoded;
      this.skipSpace();
      if (s.charCodeAt(this.pos) !== 58) this.fail();
      this.pos++;
      this.skipSpace();
      const valueText = this.value();
      members.push({ key, bytes: utf8Length(key), text: keyText + ': ' + valueText, order: members.length });
      this.skipSpace();
      const c = s.charCodeAt(this.pos++);
      if (c === 125) break;
      if (c !== 44) {
        this.pos--;
        this.fail();
      }
      this.skipSpace();
    }
    if (members.length === 1) return '{' + members[0]!.text + '}';
    // Documents written by jsonb itself (or by a sorted serializer) are already in order: skip the sort.
    for (let i = 1; i < members.length; i++) {
      if (compareMembers(members[i - 1]!, members[i]!) >= 0) {
        members.sort(compareMembers);
        break;
      }
    }
    let out = '{';
    let first = true;
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      const next = members[i + 1];
      if (next !== undefined && next.key === m.key) continue; // a later duplicate follows: it wins
      if (!first) out += ', ';
      out += m.text;
      first = false;
    }
    return out + '}';
  }

  /** Reads a string; returns it as jsonb prints it and leaves the decoded text in `decoded`. */
  private string(): string {
    const s = this.src;
    const start = this.pos + 1;
    let i = start;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 34) {
        // No escapes: the input spelling is already the output spelling.
        this.decoded = s.slice(start, i);
        this.pos = i + 1;
        return s.slice(start - 1, i + 1);
      }
      if (c === 92 || c < 0x20) break;
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = s.charCodeAt(i + 1);
        if (c > 0xdbff || d < 0xdc00 || d > 0xdfff) break;
        i++; // a well-formed pair (emoji and the like) passes as is
      }
    }
    return this.slowString(start, i);
  }

  private slowString(start: number, from: number): string {
    const s = this.src;
    let decoded = s.slice(start, from);
    let run = from; // start of the pending literal run
    let i = from;
    for (;;) {
      if (i >= s.length) {
        this.pos = i;
        this.fail();
      }
      const c = s.charCodeAt(i);
      if (c === 34) break;
      if (c < 0x20) {
        this.pos = i;
        this.fail();
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        // A raw lone surrogate cannot travel as UTF-8: the encoder sends U+FFFD, so PostgreSQL stores that.
        const d = s.charCodeAt(i + 1);
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          i += 2;
          continue;
        }
        decoded += s.slice(run, i) + '\ufffd';
        run = ++i;
        continue;
      }
      if (c !== 92) {
        i++;
        continue;
      }
      decoded += s.slice(run, i);
      const e = s.charCodeAt(i + 1);
      i += 2;
      switch (e) {
        case 34:
          decoded += '"';
          break;
        case 92:
          decoded += '\\';
          break;
        case 47:
          decoded += '/';
          break;
        case 98:
          decoded += '\b';
          break;
        case 102:
          decoded += '\f';
          break;
        case 110:
          decoded += '\n';
          break;
        case 114:
          decoded += '\r';
          break;
        case 116:
          decoded += '\t';
          break;
        case 117: {
          const unit = this.hex4(i);
          i += 4;
          if (unit === 0) {
            this.pos = i - 6;
            throw new SyntaxError('unsupported Unicode escape sequence: \\u0000 cannot be converted to text');
          }
          if (unit >= 0xd800 && unit <= 0xdbff) {
            // A high surrogate must be followed at once by an escaped low one.
            if (s.charCodeAt(i) !== 92 || s.charCodeAt(i + 1) !== 117) {
              this.pos = i;
              this.fail();
            }
            const low = this.hex4(i + 2);
            if (low < 0xdc00 || low > 0xdfff) {
              this.pos = i;
              this.fail();
            }
            i += 6;
            decoded += String.fromCharCode(unit, low);
          } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            this.pos = i - 6;
            this.fail();
          } else {
            decoded += String.fromCharCode(unit);
          }
          break;
        }
        default:
          this.pos = i - 2;
          this.fail();
      }
      run = i;
    }
    decoded += s.slice(run, i);
    this.pos = i + 1;
    this.decoded = decoded;
    return escapeJson(decoded);
  }

  private hex4(at: number): number {
    const s = this.src;
    const a = hexValue(s.charCodeAt(at));
    const b = hexValue(s.charCodeAt(at + 1));
    const c = hexValue(s.charCodeAt(at + 2));
    const d = hexValue(s.charCodeAt(at + 3));
    if ((a | b | c | d) < 0) {
      this.pos = at;
      this.fail();
    }
    return (a << 12) | (b << 8) | (c << 4) | d;
  }

  /** Reads a JSON number; jsonb prints numeric_out(numeric_in(literal)). */
  private number(): string {
    const s = this.src;
    const start = this.pos;
    let i = start;
    let c = s.charCodeAt(i);
    if (c === 45) c = s.charCodeAt(++i);
    if (c === 48) c = s.charCodeAt(++i);
    else if (c >= 49 && c <= 57) {
      do c = s.charCodeAt(++i);
      while (c >= 48 && c <= 57);
    } else {
      this.pos = i;
      this.fail();
    }
    let fraction = false;
    if (c === 46) {
      const digitsFrom = ++i;
      c = s.charCodeAt(i);
      while (c >= 48 && c <= 57) c = s.charCodeAt(++i);
      if (i === digitsFrom) {
        this.pos = i;
        this.fail();
      }
      fraction = true;
    }
    let exponent = false;
    if (c === 101 || c === 69) {
      c = s.charCodeAt(++i);
      if (c === 43 || c === 45) c = s.charCodeAt(++i);
      const digitsFrom = i;
      while (c >= 48 && c <= 57) c = s.charCodeAt(++i);
      if (i === digitsFrom) {
        this.pos = i;
        this.fail();
      }
      exponent = true;
    }
    this.pos = i;
    const literal = s.slice(start, i);
    // Only a literal this long can exceed numeric's limits: let numeric_in's twin check it.
    if (exponent || i - start > NUMERIC_MAX_SCALE) return numericInText(literal, false);
    // Without an exponent the literal is numeric_out's spelling already (JSON forbids leading zeros), except
    // that numeric has no negative zero.
    if (s.charCodeAt(start) === 45) {
      for (let k = start + 1; k < i; k++) {
        const d = s.charCodeAt(k);
        if (d !== 48 && d !== 46) return literal;
      }
      return fraction ? literal.slice(1) : '0';
    }
    return literal;
  }
}
