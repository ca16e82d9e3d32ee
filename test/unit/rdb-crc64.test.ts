/**
 * The CRC-64 that guards RDB files, against the published check value and a bit-at-a-time reference, and
 * validateRdb on small hand-built files: a valid one, one written without a checksum, and damaged ones.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { crc64, Crc64, validateRdb } from '../../activities/redis/rdb-file';
import { ErrorCode } from '../../common/errors';

/** CRC-64/Jones one bit at a time with BigInt: slow, obviously right. */
function referenceCrc64(data: Uint8Array): bigint {
  const reflectedPoly = 0x95ac9329ac4bc9b5n; // 0xad93d23594c935a9 bit-reversed
  let crc = 0n;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let bit = 0; bit < 8; bit++) crc = crc & 1n ? (crc >> 1n) ^ reflectedPoly : crc >> 1n;
  }
  return crc;
}

/** A minimal RDB file: header, one string key in db 0, EOF opcode and the checksum (zero when `checksum` is false). */
function rdbFile(version: number, { checksum = true } = {}): Buffer {
  const body = Buffer.concat([
    Buffer.from(`REDIS${String(version).padStart(4, '0')}`, 'latin1'),
    Buffer.from([0xfe, 0x00, 0x00, 0x01]), // SELECTDB 0, type string
    Buffer.from('k', 'latin1'),
    Buffer.from([0x01]),
    Buffer.from('v', 'latin1'),
    Buffer.from([0xff]),
  ]);
  if (version < 5) return body;
  const trailer = Buffer.alloc(8);
  if (checksum) trailer.writeBigUInt64LE(crc64(body));
  return Buffer.concat([body, trailer]);
}

describe('CRC-64/Jones', () => {
  it('matches the published check value of "123456789"', () => {
    expect(crc64(Buffer.from('123456789'))).toBe(0xe9c6d914c4b8d9can);
  });

  it('matches a bit-at-a-time reference for every length around the 8-byte stride', () => {
    for (let length = 0; length <= 40; length++) {
      const data = randomBytes(length);
      expect(crc64(data), `length ${length}`).toBe(referenceCrc64(data));
    }
    const long = randomBytes(4099);
    expect(crc64(long)).toBe(referenceCrc64(long));
  });

  it('gives the same value fed in pieces of any size', () => {
    const data = randomBytes(10_000);
    const whole = crc64(data);
    for (const piece of [1, 3, 7, 8, 9, 1000]) {
      const crc = new Crc64();
      for (let at = 0; at < data.length; at += piece) crc.update(data.subarray(at, at + piece));
      expect(crc.digest(), `pieces of ${piece}`).toBe(whole);
    }
  });
});

describe('validateRdb on hand-built files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dbops-rdb-unit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, bytes: Buffer): string => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };

  it('accepts a valid file and reports its version and size', async () => {
    const bytes = rdbFile(10);
    await expect(validateRdb(file('ok.rdb', bytes))).resolves.toEqual({
      rdbVersion: 10,
      bytes: bytes.length,
      checksumVerified: true,
    });
  });

  it('accepts a file written with rdbchecksum no, saying the checksum was not verified', async () => {
    await expect(validateRdb(file('nocrc.rdb', rdbFile(9, { checksum: false })))).resolves.toMatchObject({
      rdbVersion: 9,
      checksumVerified: false,
    });
  });

  it('accepts a version 4 file, which has no checksum', async () => {
    await expect(validateRdb(file('v4.rdb', rdbFile(4)))).resolves.toMatchObject({ rdbVersion: 4 });
  });

  it.each([
    [
      'a flipped byte',
      (b: Buffer) => Buffer.concat([b.subarray(0, 15), Buffer.from([b[15]! ^ 0x01]), b.subarray(16)]),
      /CRC-64/,
    ],
    ['a missing last byte', (b: Buffer) => b.subarray(0, -1), /EOF opcode.*truncated/],
    ['a missing trailer', (b: Buffer) => b.subarray(0, -9), /truncated/],
    ['a wrong magic', (b: Buffer) => Buffer.concat([Buffer.from('RIDES'), b.subarray(5)]), /REDIS/],
    ['only a header', (b: Buffer) => b.subarray(0, 9), /only 9 bytes/],
  ])('rejects %s with BackupCorrupt naming the file', async (_what, damage, why) => {
    const path = file('bad.rdb', damage(rdbFile(10)));
    const err = await validateRdb(path).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.BackupCorrupt });
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toMatch(why);
  });

  it('reports a missing file as bad input', async () => {
    await expect(validateRdb(join(dir, 'absent.rdb'))).rejects.toMatchObject({ code: ErrorCode.BadInput });
  });
});
