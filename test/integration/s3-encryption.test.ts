/**
 * Server-side encryption on the stack's MinIO, which runs with a static KMS key (`dbops-local-key`): objects
 * written with SSE-S3 (`AES256`) and with SSE-KMS (`aws:kms` + key id) report their encryption on HEAD and
 * read back byte for byte. The test owns its bucket and removes it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import {
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, ensureBucket } from '../../activities/s3/client';
import { LOCAL_MINIO } from '../../config/defaults';
import { loadConfig } from '../../config/load';

describe('S3 server-side encryption on MinIO', () => {
  const bucket = `dbops-sse-${randomUUID().slice(0, 8)}`;
  const keys: string[] = [];
  let s3: S3Client;

  beforeAll(async () => {
    // No environment and no config file: the built-in defaults, i.e. the stack's MinIO and its credentials.
    s3 = createS3Client(loadConfig({ env: {}, cwd: tmpdir() }).s3);
    expect(await ensureBucket(s3, bucket)).toBe(true);
  });
  afterAll(async () => {
    for (const key of keys) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    s3.destroy();
  });

  async function roundTrip(key: string, sse: Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId'>) {
    const body = randomBytes(64 * 1024 + 17);
    keys.push(key);
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...sse }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
    return { put, head, got, bytes, body };
  }

  it('SSE-S3 (AES256): HEAD reports AES256 and GET returns the bytes', async () => {
    const { put, head, bytes, body } = await roundTrip('sse-s3.bin', { ServerSideEncryption: 'AES256' });
    expect(put.ServerSideEncryption).toBe('AES256');
    expect(head.ServerSideEncryption).toBe('AES256');
    expect(head.ContentLength).toBe(body.length);
    expect(bytes.equals(body)).toBe(true);
  });

  it('SSE-KMS (aws:kms with the stack key id): HEAD reports aws:kms and the key, GET returns the bytes', async () => {
    const { put, head, got, bytes, body } = await roundTrip('sse-kms.bin', {
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: LOCAL_MINIO.kmsKeyId,
    });
    expect(put.ServerSideEncryption).toBe('aws:kms');
    expect(head.ServerSideEncryption).toBe('aws:kms');
    // MinIO reports the key as an ARN-style id ending in the key name.
    expect(head.SSEKMSKeyId).toMatch(new RegExp(`${LOCAL_MINIO.kmsKeyId}$`));
    expect(got.ServerSideEncryption).toBe('aws:kms');
    expect(bytes.equals(body)).toBe(true);
  });

  it('an SSE-KMS key id MinIO does not have is refused', async () => {
    keys.push('sse-kms-unknown.bin');
    await expect(
      s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'sse-kms-unknown.bin',
          Body: 'x',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: 'no-such-key',
        }),
      ),
    ).rejects.toThrow();
  });
});
