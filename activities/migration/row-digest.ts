/**
 * Order-independent content checksum of a table (docs/architecture.md, rule 7): each row's canonical values are
 * hashed to 64 bits (two 32-bit multiply-xorshift lanes over the UTF-16 code units, seeded differently) and
 * the hashes summed lane by lane modulo 2^32, so the same rows in any order give the same checksum on both
 * sides. With the row count it detects lost, duplicated and altered rows. It guards against accidents, not
 * adversaries: a cryptographic hash per row cost 3× more and bought nothing here.
 */

const FIELD = 0x1f;
const NULL_MARK = 0x1e;

/** Accumulates rows; `value` is `<count>:<16 hex digits>`. */
export class RowDigest {
  private sumA = 0;
  private sumB = 0;
  private count = 0;

  /** Adds one row given as canonical field texts (null for NULL). */
  add(fields: readonly (string | null)[]): void {
    let a = 0xdeadbeef ^ fields.length;
    let b = 0x41c6ce57 ^ fields.length;
    for (const field of fields) {
      if (field === null) {
        a = Math.imul(a ^ NULL_MARK, 2654435761);
        b = Math.imul(b ^ NULL_MARK, 1597334677);
      } else {
        for (let i = 0; i < field.length; i++) {
          const ch = field.charCodeAt(i);
          a = Math.imul(a ^ ch, 2654435761);
          b = Math.imul(b ^ ch, 1597334677);
        }
        // The length closes the field, so ['ab','c'] and ['a','bc'] differ.
        a = Math.imul(a ^ (field.length + FIELD), 2654435761);
        b = Math.imul(b ^ (field.length + FIELD), 1597334677);
      }
    }
    a = Math.imul(a ^ (a >>> 16), 2246822507) ^ Math.imul(b ^ (b >>> 13), 3266489909);
    b = Math.imul(b ^ (b >>> 16), 2246822507) ^ Math.imul(a ^ (a >>> 13), 3266489909);
    this.sumA = (this.sumA + (a >>> 0)) >>> 0;
    this.sumB = (this.sumB + (b >>> 0)) >>> 0;
    this.count += 1;
  }

  /** Rows added so far. */
  get rows(): number {
    return this.count;
  }

  /** The checksum text. */
  get value(): string {
    return `${this.count}:${this.sumA.toString(16).padStart(8, '0')}${this.sumB.toString(16).padStart(8, '0')}`;
  }

  /** Adds the rows of another digest, given as its checksum text (digests of disjoint parts sum to the whole). */
  merge(value: string): void {
    const m = /^(\d+):([0-9a-f]{8})([0-9a-f]{8})$/.exec(value);
    if (!m) throw new Error(`not a row digest: ${value}`);
    this.count += Number(m[1]);
    this.sumA = (this.sumA + parseInt(m[2] ?? '0', 16)) >>> 0;
    this.sumB = (this.sumB + parseInt(m[3] ?? '0', 16)) >>> 0;
  }
}
