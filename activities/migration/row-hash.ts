/**
 * Order-independent content checksum of a set of rows, computable by PostgreSQL itself: each row's canonical
 * text (its UTF-8 bytes) is hashed with PostgreSQL's own 64-bit hash of bytes — `hashtextextended(text, 0)`,
 * Bob Jenkins' lookup3 as PostgreSQL's src/common/hashfn.c implements it — and the hashes are summed modulo
 * 2^64. The same rows in any order give the same checksum; with the row count it detects lost, duplicated and
 * altered rows. It guards against accidents, not adversaries. PostgreSQL computes it in C without leaving
 * the server; here it runs in plain JavaScript over bytes SQLite handed out in bulk (no call per row), which
 * is why a hash PostgreSQL exposes cheaply was chosen over md5, whose per-row cost dominated both sides.
 */

/** Checksum texts start with this: a ledger written by an older checksum is recognised, not mis-compared. */
const PREFIX = 'h64';
const TWO_32 = 2 ** 32;
const MOD_64 = 2n ** 64n;

/** The two 32-bit halves (high, low) of the last hash, reused to avoid allocating per row. */
const halves = new Uint32Array(2);

const rot = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

/** PostgreSQL's `hash_bytes_extended(bytes[start:end], seed 0)`, as [high, low] into `halves`. */
export function hashBytes(bytes: Uint8Array, start: number, end: number): Uint32Array {
  let len = end - start;
  let a = (0x9e3779b9 + len + 3923095) | 0;
  let b = a;
  let c = a;
  let k = start;
  while (len >= 12) {
    a = (a + (bytes[k]! | (bytes[k + 1]! << 8) | (bytes[k + 2]! << 16) | (bytes[k + 3]! << 24))) | 0;
    b = (b + (bytes[k + 4]! | (bytes[k + 5]! << 8) | (bytes[k + 6]! << 16) | (bytes[k + 7]! << 24))) | 0;
    c = (c + (bytes[k + 8]! | (bytes[k + 9]! << 8) | (bytes[k + 10]! << 16) | (bytes[k + 11]! << 24))) | 0;
    // mix(a, b, c)
    a = (a - c) | 0;
    a ^= rot(c, 4);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rot(a, 6);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rot(b, 8);
    b = (b + a) | 0;
    a = (a - c) | 0;
    a ^= rot(c, 16);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rot(a, 19);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rot(b, 4);
    b = (b + a) | 0;
    k += 12;
    len -= 12;
  }
  // The last 0–11 bytes, as PostgreSQL's fall-through switch adds them.
  if (len > 10) c = (c + (bytes[k + 10]! << 24)) | 0;
  if (len > 9) c = (c + (bytes[k + 9]! << 16)) | 0;
  if (len > 8) c = (c + (bytes[k + 8]! << 8)) | 0;
  if (len > 7) b = (b + (bytes[k + 7]! << 24)) | 0;
  if (len > 6) b = (b + (bytes[k + 6]! << 16)) | 0;
  if (len > 5) b = (b + (bytes[k + 5]! << 8)) | 0;
  if (len > 4) b = (b + bytes[k + 4]!) | 0;
  if (len > 3) a = (a + (bytes[k + 3]! << 24)) | 0;
  if (len > 2) a = (a + (bytes[k + 2]! << 16)) | 0;
  if (len > 1) a = (a + (bytes[k + 1]! << 8)) | 0;
  if (len > 0) a = (a + bytes[k]!) | 0;
  // final(a, b, c)
  c ^= b;
  c = (c - rot(b, 14)) | 0;
  a ^= c;
  a = (a - rot(c, 11)) | 0;
  b ^= a;
  b = (b - rot(a, 25)) | 0;
  c ^= b;
  c = (c - rot(b, 16)) | 0;
  a ^= c;
  a = (a - rot(c, 4)) | 0;
  b ^= a;
  b = (b - rot(a, 14)) | 0;
  c ^= b;
  c = (c - rot(b, 24)) | 0;
  halves[0] = b;
  halves[1] = c;
  return halves;
}

/** Accumulates rows; `value` is `h64:<count>:<16 hex digits>` (the sum modulo 2^64). */
export class RowHashSum {
  // Two exact partial sums (each below 2^53 for up to 2^21 rows), folded into `total` before they could overflow.
  private high = 0;
  private low = 0;
  private pending = 0;
  private total = 0n;
  private count = 0;

  /** Adds one row given as the UTF-8 bytes `bytes[start:end]` of its canonical text. */
  addBytes(bytes: Uint8Array, start: number, end: number): void {
    const h = hashBytes(bytes, start, end);
    this.high += h[0]!;
    this.low += h[1]!;
    this.count += 1;
    if (++this.pending === 1 << 20) this.fold();
  }

  /** Adds one row given as its canonical text. */
  addText(row: string): void {
    const bytes = Buffer.from(row, 'utf8');
    this.addBytes(bytes, 0, bytes.length);
  }

  /** Adds every row of `bytes`: canonical texts separated by NUL bytes (which no canonical text holds). */
  addSeparated(bytes: Uint8Array, rows: number): void {
    let start = 0;
    for (let i = 0; i < rows; i++) {
      let end = bytes.indexOf(0, start);
      if (end === -1) end = bytes.length;
      this.addBytes(bytes, start, end);
      start = end + 1;
    }
  }

  /** Rows added so far. */
  get rows(): number {
    return this.count;
  }

  /** The checksum text. */
  get value(): string {
    this.fold();
    return `${PREFIX}:${this.count}:${this.total.toString(16).padStart(16, '0')}`;
  }

  /** Adds the rows of another checksum given as its text (checksums of disjoint parts sum to the whole). */
  merge(value: string): void {
    const parsed = parseRowHash(value);
    if (!parsed) throw new Error(`not a row checksum: ${value}`);
    this.fold();
    this.count += parsed.rows;
    this.total = (this.total + parsed.sum) % MOD_64;
  }

  /** The checksum of `count` rows whose hashes PostgreSQL summed (as signed 64-bit integers) to `sum`. */
  static fromSum(count: number, sum: string): RowHashSum {
    const result = new RowHashSum();
    result.count = count;
    result.total = ((BigInt(sum) % MOD_64) + MOD_64) % MOD_64;
    return result;
  }

  private fold(): void {
    if (this.pending === 0) return;
    this.total = (this.total + BigInt(this.high) * BigInt(TWO_32) + BigInt(this.low)) % MOD_64;
    this.high = 0;
    this.low = 0;
    this.pending = 0;
  }
}

/** The parts of a checksum text, or null when it is not one (e.g. written by an older version). */
export function parseRowHash(value: string): { rows: number; sum: bigint } | null {
  const m = /^h64:(\d+):([0-9a-f]{16})$/.exec(value);
  if (!m) return null;
  return { rows: Number(m[1]), sum: BigInt(`0x${m[2] ?? '0'}`) };
}
