/**
 * Checks that a file is a complete Redis RDB snapshot before it is stored or restored: the `REDIS` magic and
 * format version at the start, the EOF opcode and the CRC-64 trailer at the end, and (when Redis wrote one)
 * that the checksum matches every byte. A snapshot cut short by a dropped transfer or a flipped bit fails
 * here, in one streaming pass with constant memory, rather than when somebody needs the backup.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { DbopsError, ErrorCode } from '../../common/errors';

/**
 * CRC-64/Jones as Redis computes it (polynomial 0xad93d23594c935a9, reflected: 0x95ac9329ac4bc9b5 in the
 * right-shifting form used here; initial value 0, no final xor).
 * The 64-bit state is kept as two 32-bit halves so that V8 stays on integer arithmetic; eight bytes are folded
 * per step through eight tables ("slicing by 8"), which is several times faster than a byte at a time.
 */
const POLY_LO = 0xac4bc9b5 | 0;
const POLY_HI = 0x95ac9329 | 0;

// TABLES[(k * 256 + n) * 2] is the low half, [... + 1] the high half, of the CRC of byte n followed by k zero bytes.
const TABLES = buildTables();

function buildTables(): Int32Array {
  const t = new Int32Array(8 * 256 * 2);
  for (let n = 0; n < 256; n++) {
    let lo = n;
    let hi = 0;
    for (let bit = 0; bit < 8; bit++) {
      const carry = lo & 1;
      lo = (lo >>> 1) | (hi << 31);
      hi = hi >>> 1;
      if (carry) {
        lo ^= POLY_LO;
        hi ^= POLY_HI;
      }
    }
    t[n * 2] = lo;
    t[n * 2 + 1] = hi;
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = ((k - 1) * 256 + n) * 2;
      const lo = t[prev]!;
      const hi = t[prev + 1]!;
      const idx = (lo & 0xff) * 2;
      t[(k * 256 + n) * 2] = ((lo >>> 8) | (hi << 24)) ^ t[idx]!;
      t[(k * 256 + n) * 2 + 1] = (hi >>> 8) ^ t[idx + 1]!;
    }
  }
  return t;
}

/** Incremental CRC-64/Jones (the checksum at the end of an RDB file). */
export class Crc64 {
  private lo = 0;
  private hi = 0;

  /** Folds `data` into the checksum. */
  update(data: Uint8Array): this {
    const t = TABLES;
    let lo = this.lo;
    let hi = this.hi;
    let i = 0;
    const end8 = data.length - (data.length % 8);
    for (; i < end8; i += 8) {
      const a = lo ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
      const b = hi ^ (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24));
      // Byte j of the 8-byte word goes through table 7 - j (it is followed by 7 - j more bytes of the word).
      const i7 = (7 * 256 + (a & 0xff)) * 2;
      const i6 = (6 * 256 + ((a >>> 8) & 0xff)) * 2;
      const i5 = (5 * 256 + ((a >>> 16) & 0xff)) * 2;
      const i4 = (4 * 256 + (a >>> 24)) * 2;
      const i3 = (3 * 256 + (b & 0xff)) * 2;
      const i2 = (2 * 256 + ((b >>> 8) & 0xff)) * 2;
      const i1 = (256 + ((b >>> 16) & 0xff)) * 2;
      const i0 = (b >>> 24) * 2;
      lo = t[i7]! ^ t[i6]! ^ t[i5]! ^ t[i4]! ^ t[i3]! ^ t[i2]! ^ t[i1]! ^ t[i0]!;
      hi = t[i7 + 1]! ^ t[i6 + 1]! ^ t[i5 + 1]! ^ t[i4 + 1]! ^ t[i3 + 1]! ^ t[i2 + 1]! ^ t[i1 + 1]! ^ t[i0 + 1]!;
    }
    for (; i < data.length; i++) {
      const idx = ((lo ^ data[i]!) & 0xff) * 2;
      lo = ((lo >>> 8) | (hi << 24)) ^ t[idx]!;
      hi = (hi >>> 8) ^ t[idx + 1]!;
    }
    this.lo = lo;
    this.hi = hi;
    return this;
  }

  /** The checksum of everything folded in so far. */
  digest(): bigint {
    return (BigInt(this.hi >>> 0) << 32n) | BigInt(this.lo >>> 0);
  }
}

/** CRC-64/Jones of one buffer (Redis's `crc64(0, data, len)`). */
export function crc64(data: Uint8Array): bigint {
  return new Crc64().update(data).digest();
}

/** What a valid RDB file reports. */
export interface RdbFileFacts {
  /** The format version from the header (`REDIS0011` → 11). */
  rdbVersion: number;
  bytes: number;
  /** False when Redis wrote the file with `rdbchecksum no` (a zero trailer): only its shape was checked. */
  checksumVerified: boolean;
}

const HEADER_BYTES = 9; // "REDIS" + 4 ASCII digits
const EOF_OPCODE = 0xff;
/** RDB version 5 (Redis 2.6) added the 8-byte CRC-64 after the EOF opcode. */
const FIRST_CHECKSUMMED_VERSION = 5;

/** Validates an RDB file's header, EOF trailer and CRC-64; throws BackupCorrupt naming the file and the fault. */
export async function validateRdb(path: string, options: { signal?: AbortSignal } = {}): Promise<RdbFileFacts> {
  const corrupt = (what: string): DbopsError =>
    new DbopsError(
      ErrorCode.BackupCorrupt,
      `${path} is not a valid Redis RDB snapshot: ${what}; the snapshot is unusable, take a new one`,
    );

  let size: number;
  const header = Buffer.alloc(HEADER_BYTES);
  const trailer = Buffer.alloc(HEADER_BYTES); // the EOF opcode and the 8-byte checksum
  const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new DbopsError(ErrorCode.BadInput, `cannot read the RDB snapshot ${path} (${err.code ?? err.message})`, {
      cause: err,
    });
  });
  try {
    size = (await handle.stat()).size;
    if (size <= HEADER_BYTES) throw corrupt(`it is only ${size} bytes long (nothing after the header)`);
    await handle.read(header, 0, HEADER_BYTES, 0);
    await handle.read(trailer, 0, HEADER_BYTES, size - HEADER_BYTES);
  } finally {
    await handle.close();
  }

  const magic = header.toString('latin1', 0, 5);
  const digits = header.toString('latin1', 5, 9);
  if (magic !== 'REDIS' || !/^\d{4}$/.test(digits)) {
    throw corrupt(
      `it does not start with "REDIS" and a 4-digit version (found ${JSON.stringify(header.toString('latin1'))})`,
    );
  }
  const rdbVersion = Number(digits);
  if (rdbVersion < 1) throw corrupt(`its format version is ${digits}`);

  if (rdbVersion < FIRST_CHECKSUMMED_VERSION) {
    if (trailer[HEADER_BYTES - 1] !== EOF_OPCODE)
      throw corrupt('it does not end with the EOF opcode 0xFF (truncated?)');
    return { rdbVersion, bytes: size, checksumVerified: false };
  }
  if (size < HEADER_BYTES * 2) throw corrupt(`it is only ${size} bytes long (truncated: even an empty dataset is 18)`);
  if (trailer[0] !== EOF_OPCODE) {
    throw corrupt('it does not end with the EOF opcode 0xFF and an 8-byte checksum (truncated?)');
  }
  const stored = trailer.readBigUInt64LE(1);
  if (stored === 0n) return { rdbVersion, bytes: size, checksumVerified: false }; // written with rdbchecksum no

  // The checksum covers every byte before it, the EOF opcode included.
  const crc = new Crc64();
  const stream = createReadStream(path, {
    start: 0,
    end: size - 9,
    highWaterMark: 1024 * 1024,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  for await (const chunk of stream as AsyncIterable<Buffer>) crc.update(chunk);
  const computed = crc.digest();
  if (computed !== stored) {
    throw corrupt(
      `its CRC-64 is 0x${computed.toString(16).padStart(16, '0')} but the file records 0x${stored.toString(16).padStart(16, '0')} (damaged or truncated)`,
    );
  }
  return { rdbVersion, bytes: size, checksumVerified: true };
}
