/** The S3 client and bucket bootstrap against the stack's real MinIO, in a bucket this test owns. */
import {
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, ensureBucket } from '../../activities/s3/client';
import { testConfig, uniqueName } from '../support/temporal';

describe('S3 storage on MinIO', () => {
  const bucket = uniqueName('dbops-test');
  let s3: S3Client;

  beforeAll(() => {
    s3 = createS3Client(testConfig('unused').s3);
  });
  afterAll(async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'probe.txt' })).catch(() => undefined);
    await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    s3.destroy();
  });

  it('creates the bucket once (idempotent) and round-trips an object with checksums on', async () => {
    expect(await ensureBucket(s3, bucket)).toBe(true);
    expect(await ensureBucket(s3, bucket)).toBe(false);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'probe.txt', Body: 'dbops ✓' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'probe.txt' }));
    expect(await got.Body?.transformToString()).toBe('dbops ✓');
  });

  it('the stack created the configured default bucket', async () => {
    expect(await ensureBucket(s3, testConfig('unused').s3.bucket)).toBe(false);
  });
});
