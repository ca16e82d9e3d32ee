/**
 * A content-addressed cache of S3 objects on the local disk: `get(key, sha256)` returns the path of a local
 * copy whose bytes hash to `sha256`, downloading it once. The download goes to a temporary file of its own
 * (`.<sha256>.<pid>.<random>.tmp`), is hashed on the way and renamed into place only when the hash matches,
 * so a crash never leaves a partial file under the final name, and two processes sharing the folder at most
 * download twice, never corrupt each other. Within the process, concurrent callers of one object share one
 * download (single flight). A file in the cache is never rewritten: its name is its content.
 *
 * Each use touches the file's mtime; `prune(days)` removes copies unused for that long (and temporary files
 * a killed download left behind).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { DbopsError, ErrorCode } from '../../common/errors';
import { isNotFound } from './objects';
import { downloadFile } from './transfer';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A local cache of S3 objects named by their content's SHA-256. */
export class ObjectCache {
  private readonly inFlight = new Map<string, Promise<string>>();
  /** Downloads started by this instance (tests read it: one per object, however many callers). */
  downloads = 0;

  constructor(
    readonly dir: string,
    private readonly client: () => S3Client,
    private readonly bucket: string,
  ) {}

  /** Where the copy of content `sha256` lives (whether or not it is there yet). */
  pathOf(sha256: string, suffix = ''): string {
    return join(this.dir, `${sha256}${suffix}`);
  }

  /**
   * The local path of `key`, whose content must hash to `sha256`; downloaded on first use. `fix` is
   * appended to the error when the object is missing or its bytes do not match (what the operator can do).
   */
  async get(key: string, sha256: string, options: { suffix?: string; fix?: string } = {}): Promise<string> {
    if (!SHA256_HEX.test(sha256))
      throw new DbopsError(ErrorCode.BadInput, `cache of s3://${this.bucket}/${key}: "${sha256}" is not a sha256`);
    const path = this.pathOf(sha256, options.suffix);
    const running = this.inFlight.get(path);
    if (running) return running;
    const fetching = this.fetch(key, sha256, path, options.fix).finally(() => this.inFlight.delete(path));
    this.inFlight.set(path, fetching);
    return fetching;
  }

  private async fetch(key: string, sha256: string, path: string, fix = ''): Promise<string> {
    if (existsSync(path)) {
      const now = new Date();
      await utimes(path, now, now).catch(() => undefined);
      return path;
    }
    await mkdir(this.dir, { recursive: true });
    const temp = join(this.dir, `.${sha256}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const where = `s3://${this.bucket}/${key}`;
    this.downloads += 1;
    try {
      await downloadFile(this.client(), this.bucket, key, temp, sha256).catch((err: unknown) => {
        if (err instanceof DbopsError && err.code === ErrorCode.ChecksumMismatch)
          throw new DbopsError(ErrorCode.ChecksumMismatch, `${err.message}${fix ? `; ${fix}` : ''}`, { cause: err });
        // Retried by the policy: another attempt may run where the file is local.
        if (isNotFound(err)) throw new Error(`${where} does not exist${fix ? `; ${fix}` : ''}`, { cause: err });
        throw err;
      });
      await rename(temp, path);
      return path;
    } finally {
      await rm(temp, { force: true });
    }
  }

  /**
   * Removes cached copies not used for `maxAgeDays` and temporary files older than a day (a killed
   * download's); returns the names removed. Never touches a file whose name is not the cache's own.
   */
  async prune(maxAgeDays: number, now = Date.now()): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const removed: string[] = [];
    for (const name of names) {
      const own = SHA256_HEX.test(name.slice(0, 64)) && !name.startsWith('.');
      const temp = /^\.[0-9a-f]{64}\.\d+\.[0-9a-f]+\.tmp(\.part)?$/.test(name);
      if (!own && !temp) continue;
      const file = join(this.dir, name);
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) continue;
      const ageDays = (now - info.mtimeMs) / 86_400_000;
      if (ageDays > (temp ? 1 : maxAgeDays)) {
        await rm(file, { force: true });
        removed.push(name);
      }
    }
    return removed;
  }
}
