/**
 * Writes a stream to a file while computing its SHA-256, through `<path>.part` that is fsynced and renamed
 * into place only once the whole stream arrived: a crash or a failed tool never leaves a half file at the
 * final path, and the checksum costs no second read.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/** A file written with its digest. */
export interface HashedFile {
  path: string;
  bytes: number;
  sha256: string;
}

/** Options of {@link writeHashed}. */
export interface HashedWriteOptions {
  /** Compress with gzip on the way (level 6 unless given). */
  gzip?: boolean | { level: number };
  /** Called with the bytes written so far, at most about once a second. */
  onBytes?: (bytes: number) => void;
  signal?: AbortSignal;
  /**
   * Resolves when the producer (e.g. a dump tool) has finished successfully; the file is renamed into place
   * only after both the stream ended and this resolved.
   */
  producerDone?: Promise<void>;
}

/** Streams `source` into `path` (via `path.part`), hashing the bytes as written. */
export async function writeHashed(
  source: Readable,
  path: string,
  options: HashedWriteOptions = {},
): Promise<HashedFile> {
  await mkdir(dirname(path), { recursive: true });
  const part = `${path}.part`;
  const hash = createHash('sha256');
  let bytes = 0;
  let reported = Date.now();
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      if (options.onBytes && Date.now() - reported > 1_000) {
        reported = Date.now();
        options.onBytes(bytes);
      }
      done(null, chunk);
    },
  });
  const stages: NodeJS.ReadWriteStream[] = [];
  if (options.gzip) stages.push(createGzip({ level: typeof options.gzip === 'object' ? options.gzip.level : 6 }));
  try {
    // Both must succeed; if the producer fails first, its error wins (it says why the stream stopped).
    await Promise.all([
      pipeline([source, ...stages, counter, createWriteStream(part)], { signal: options.signal }),
      options.producerDone ?? Promise.resolve(),
    ]);
    const handle = await open(part, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(part, path);
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  }
  return { path, bytes, sha256: hash.digest('hex') };
}
