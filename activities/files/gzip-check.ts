/** A full read of a gzip file (the equivalent of `gzip -t`): every member decompressed, CRC and size checked. */
import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DbopsError, ErrorCode } from '../../common/errors';

/** Decompresses `path` to nowhere; returns the uncompressed size or throws BackupCorrupt naming the file. */
export async function checkGzip(path: string, signal?: AbortSignal): Promise<{ uncompressedBytes: number }> {
  let uncompressedBytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      uncompressedBytes += chunk.length;
      done();
    },
  });
  try {
    await pipeline(createReadStream(path), createGunzip(), sink, { signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new DbopsError(
      ErrorCode.BackupCorrupt,
      `${path} is not a complete gzip file (${(err as Error).message}): this copy of the backup is damaged; use another copy or backup`,
    );
  }
  return { uncompressedBytes };
}
