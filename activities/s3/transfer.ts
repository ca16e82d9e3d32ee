/**
 * Streamed transfers between files and S3 with their SHA-256: memory stays constant whatever the size
 * (multipart upload through @aws-sdk/lib-storage), the hash is computed from the bytes as they pass, and a
 * download lands in a `.part` file renamed into place only once its hash matches the expected one.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { DbopsError, ErrorCode } from '../../common/errors';
import { sha256File } from '../files/sha256';

/** What is known of an object after a transfer. */
export interface TransferredObject {
  bucket: string;
  key: string;
  bytes: number;
  sha256: string;
}

/** Object metadata key holding the SHA-256 of the content (S3 lower-cases metadata names). */
export const SHA256_METADATA = 'dbops-sha256';

/** Server-side encryption of uploaded objects: S3-managed keys, or a KMS key. */
export type ServerSideEncryption = { mode: 'none' } | { mode: 'AES256' } | { mode: 'aws:kms'; kmsKeyId?: string };

/** The PutObject parameters of an encryption setting. */
export function encryptionParams(encryption: ServerSideEncryption | undefined): {
  ServerSideEncryption?: 'AES256' | 'aws:kms';
  SSEKMSKeyId?: string;
} {
  if (!encryption || encryption.mode === 'none') return {};
  if (encryption.mode === 'AES256') return { ServerSideEncryption: 'AES256' };
  return { ServerSideEncryption: 'aws:kms', ...(encryption.kmsKeyId ? { SSEKMSKeyId: encryption.kmsKeyId } : {}) };
}

/** SHA-256 and size of an object's bytes, read back in full (streamed, nothing written to disk). */
export async function hashObject(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<{ sha256: string; bytes: number }> {
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!(object.Body instanceof Readable)) throw new Error(`s3://${bucket}/${key}: the response has no body stream`);
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of object.Body as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** A pass-through stream that hashes and counts what flows through it. */
function hashing(): { stream: Transform; digest: () => { sha256: string; bytes: number } } {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, digest: () => ({ sha256: hash.digest('hex'), bytes }) };
}

/**
 * Uploads `path` to `bucket/key`. The file's SHA-256 is computed first and stored as object metadata; the
 * bytes actually sent are hashed again on the way, and the object's size is read back, so a file that
 * changed during the upload or a short write fails instead of leaving a silently different copy.
 */
export async function uploadFile(
  client: S3Client,
  bucket: string,
  key: string,
  path: string,
  onProgress?: (bytesSent: number) => void,
  encryption?: ServerSideEncryption,
): Promise<TransferredObject> {
  const expected = await sha256File(path);
  const { size } = await stat(path);
  const sent = hashing();
  const upload = new Upload({
    client,
    params: {
      Bucket: bucket,
      Key: key,
      Body: createReadStream(path).pipe(sent.stream),
      ContentLength: size,
      Metadata: { [SHA256_METADATA]: expected },
      ...encryptionParams(encryption),
    },
    // Two parts in flight of the 5 MiB minimum (larger only for files above ~45 GiB, as S3 allows 10,000 parts):
    // a worker's memory stays flat and small whatever the file size.
    queueSize: 2,
    partSize: Math.max(5 * 1024 * 1024, Math.ceil(size / 9_000)),
    leavePartsOnError: false,
  });
  if (onProgress) upload.on('httpUploadProgress', (p) => onProgress(p.loaded ?? 0));
  await upload.done();
  const { sha256, bytes } = sent.digest();
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  if (sha256 !== expected || bytes !== size || head.ContentLength !== size) {
    throw new DbopsError(
      ErrorCode.ChecksumMismatch,
      `upload of ${path} to s3://${bucket}/${key}: sent ${bytes} bytes with sha256 ${sha256}, the file had ${size} bytes with sha256 ${expected}, the object has ${head.ContentLength ?? '?'} bytes; was the file written to during the upload?`,
    );
  }
  return { bucket, key, bytes, sha256 };
}

/**
 * Downloads `bucket/key` to `path` through `path.part`. When `expectedSha256` is given (from a manifest)
 * the bytes must hash to it; otherwise to the object's own SHA-256 metadata when it has one.
 */
export async function downloadFile(
  client: S3Client,
  bucket: string,
  key: string,
  path: string,
  expectedSha256?: string,
): Promise<TransferredObject> {
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!(object.Body instanceof Readable)) throw new Error(`s3://${bucket}/${key}: the response has no body stream`);
  const expected = expectedSha256 ?? object.Metadata?.[SHA256_METADATA];
  const received = hashing();
  const part = `${path}.part`;
  try {
    await pipeline(object.Body, received.stream, createWriteStream(part));
    const { sha256, bytes } = received.digest();
    if (expected !== undefined && sha256 !== expected) {
      throw new DbopsError(
        ErrorCode.ChecksumMismatch,
        `s3://${bucket}/${key}: the ${bytes} bytes read hash to ${sha256}, expected ${expected}; the stored copy may be corrupt`,
      );
    }
    await rename(part, path);
    return { bucket, key, bytes, sha256 };
  } finally {
    await rm(part, { force: true });
  }
}
