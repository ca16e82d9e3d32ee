/**
 * Order-independent content checksum of a set of rows, computable by PostgreSQL itself: each row's canonical
 * text is hashed with MD5 and the first two 32-bit words of the digest are summed, lane by lane, modulo 2^32.
 * The same rows in any order give the same checksum; with the row count it detects lost, duplicated and
 * altered rows. It guards against accidents, not adversaries (64 bits of MD5 are plenty for that), and MD5 is
 * the hash both PostgreSQL (`md5()`) and Node (`crypto.hash`) compute natively.
 */
import { hash } from 'node:crypto';

/** Checksum texts start with this: a ledger written by an older row digest is recognised, not mis-compared. */
const PREFIX = 'md5';
const LANE = 2n ** 32n;

/** Accumulates rows; `value` is `md5:<count>:<16 hex digits>`. */
export class RowHashSum {
  private sumA = 0;
  private sumB = 0;
  private count = 0;

  /** Adds one row given as its canonical text. */
  add(row: string): void {
    const digest = hash('md5', row, 'buffer') as unknown as Buffer;
    this.sumA = (this.sumA + digest.readUInt32BE(0)) >>> 0;
    this.sumB = (this.sumB + digest.readUInt32BE(4)) >>> 0;
    this.count += 1;
  }

  /** Rows added so far. */
  get rows(): number {
    return this.count;
  }

  /** The checksum text. */
  get value(): string {
    return `${PREFIX}:${this.count}:${hex8(this.sumA)}${hex8(this.sumB)}`;
  }

  /** Adds the rows of another checksum given as its text (checksums of disjoint parts sum to the whole). */
  merge(value: string): void {
    const parsed = parseRowHash(value);
    if (!parsed) throw new Error(`not a row checksum: ${value}`);
    this.count += parsed.rows;
    this.sumA = (this.sumA + parsed.a) >>> 0;
    this.sumB = (this.sumB + parsed.b) >>> 0;
  }

  /**
   * The checksum of rows PostgreSQL summed: `count`, and the sums of the two words read as signed 32-bit
   * integers (`('x' || substr(md5, 1, 8))::bit(32)::int`), as decimal texts of any size.
   */
  static fromSums(count: number, sumA: string, sumB: string): RowHashSum {
    const sum = new RowHashSum();
    sum.count = count;
    sum.sumA = Number(((BigInt(sumA) % LANE) + LANE) % LANE);
    sum.sumB = Number(((BigInt(sumB) % LANE) + LANE) % LANE);
    return sum;
  }
}

/** The parts of a checksum text, or null when it is not one (e.g. written by an older version). */
export function parseRowHash(value: string): { rows: number; a: number; b: number } | null {
  const m = /^md5:(\d+):([0-9a-f]{8})([0-9a-f]{8})$/.exec(value);
  if (!m) return null;
  return { rows: Number(m[1]), a: parseInt(m[2] ?? '0', 16), b: parseInt(m[3] ?? '0', 16) };
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}
