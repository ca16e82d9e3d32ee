/**
 * Small object operations beside the streamed transfers: does a key exist (and with which SHA-256), put an
 * empty marker, list keys under a prefix, delete a key. Errors other than "no such key" pass through.
 */
import {
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SHA256_METADATA } from './transfer';

/** True for the SDK's "no such key" answers (HEAD has no body, so only the status says it). */
export function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

/** The object's size and its dbops SHA-256 metadata, or null when there is no such key. */
export async function headObject(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<{ bytes: number; sha256?: string } | null> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { bytes: head.ContentLength ?? 0, sha256: head.Metadata?.[SHA256_METADATA] };
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** Puts an empty object (a marker whose key is the information). */
export async function putMarker(client: S3Client, bucket: string, key: string): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: new Uint8Array(0), ContentLength: 0 }));
}

/** Every key under `prefix`. */
export async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** Deletes a key (S3 answers the same whether it existed or not). */
export async function deleteKey(client: S3Client, bucket: string, key: string): Promise<void> {
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}
