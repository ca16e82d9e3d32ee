/**
 * Order-independent content checksum of a table (DESIGN decision 6): each row's canonical values are
 * hashed (SHA-256, first 64 bits) and the hashes summed modulo 2^64, so the same rows in any order give the
 * same checksum on both sides. Together with the row count it detects lost, duplicated and altered rows.
 */
import { createHash } from 'node:crypto';

const MOD = 1n << 64n;

/** Accumulates rows; `value` is `<count>:<16 hex digits>`. */
export class RowDigest {
  private sum = 0n;
  private count = 0;

  /** Adds one row given as canonical field texts (null for NULL). */
  add(fields: readonly (string | null)[]): void {
    const hash = createHash('sha256');
    for (const field of fields) hash.update(field === null ? '\u0000N|' : `${Buffer.byteLength(field)}:${field}|`);
    this.sum = (this.sum + hash.digest().readBigUInt64BE(0)) % MOD;
    this.count += 1;
  }

  /** Rows added so far. */
  get rows(): number {
    return this.count;
  }

  /** The checksum text. */
  get value(): string {
    return `${this.count}:${this.sum.toString(16).padStart(16, '0')}`;
  }
}
