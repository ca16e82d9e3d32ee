/**
 * Streamed upload and download against the stack's real MinIO, in a bucket this test owns: a multipart
 * file round-trips with its SHA-256, and a download whose bytes do not match the expected hash fails
 * without leaving a file behind.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, ensureBucket } from '../../activities/s3/client';
import { downloadFile, SHA256_METADATA, uploadFile } from '../../activities/s3/transfer';
import { sha256File } from '../../activities/files/sha256';
import { testConfig, uniqueName } from '../support/temporal';

describe('S3 streamed transfer on MinIO', () => {
  const bucket = uniqueName('dbops-transfer');
  const dir = mkdtempSync(join(tmpdir(), 'dbops-s3-'));
  let s3: S3Client;

  beforeAll(async () => {
    s3 = createS3Client(testConfig('unused').s3);
    await ensureBucket(s3, bucket);
  });
  afterAll(async () => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    for (const object of listed.Contents ?? [])
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key ?? '' }));
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    s3.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a 20 MB file goes up in parts and comes back byte-identical, its sha256 stored as metadata', async () => {
    const source = join(dir, 'big.bin');
    writeFileSync(source, randomBytes(20 * 1024 * 1024 + 123));
    const sha256 = await sha256File(source);

    const up = await uploadFile(s3, bucket, 'backups/big.bin', source);
    expect(up).toEqual({ bucket, key: 'backups/big.bin', bytes: 20 * 1024 * 1024 + 123, sha256 });
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'backups/big.bin' }));
    expect(head.Metadata?.[SHA256_METADATA]).toBe(sha256);

    const copy = join(dir, 'copy.bin');
    const down = await downloadFile(s3, bucket, 'backups/big.bin', copy, sha256);
    expect(down.sha256).toBe(sha256);
    expect(readFileSync(copy).equals(readFileSync(source))).toBe(true);
  });

  it('a download that does not hash to the expected sha256 fails with DBOPS_CHECKSUM_MISMATCH and leaves no file', async () => {
    const source = join(dir, 'small.txt');
    writeFileSync(source, 'dbops backup bytes');
    await uploadFile(s3, bucket, 'small.txt', source);
    const target = join(dir, 'small-copy.txt');
    const wrong = '0'.repeat(64);
    await expect(downloadFile(s3, bucket, 'small.txt', target, wrong)).rejects.toMatchObject({
      code: 'DBOPS_CHECKSUM_MISMATCH',
      message: expect.stringContaining(`expected ${wrong}`),
    });
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target}.part`)).toBe(false);
  });
});
