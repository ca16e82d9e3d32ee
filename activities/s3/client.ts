/** The S3 client dbops uses for artifacts (MinIO locally, any S3-compatible store in production). */
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { DbopsConfig } from '../../config/load';

/** Creates a client from the `s3` section; the caller owns it and calls `destroy()`. */
export function createS3Client(s3: DbopsConfig['s3']): S3Client {
  return new S3Client({
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
    ...(s3.accessKeyId && s3.secretAccessKey
      ? { credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } }
      : {}),
    // Some S3-compatible stores reject the CRC32 checksums the SDK sends by default since 3.729.
    requestChecksumCalculation: s3.checksums,
    responseChecksumValidation: s3.checksums,
    maxAttempts: 5,
    // A store that stops answering (frozen, network partition) must fail the request, not hang the activity
    // until its start-to-close timeout: 10 s to connect, 60 s without a byte on an open socket.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
  });
}

/** Creates the bucket unless it exists; returns true when it was created. */
export async function ensureBucket(client: S3Client, bucket: string): Promise<boolean> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return false;
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 404) throw err;
  }
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    return true;
  } catch (err) {
    // Another process created it between the two calls: that is the outcome we wanted.
    const name = (err as { name?: string }).name;
    if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') return false;
    throw err;
  }
}
