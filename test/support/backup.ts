/**
 * Helpers for restore tests: a committed backup made the way `backupDatabase` makes one (the dump step into
 * the backup's local folder, optionally uploaded, then the manifest written last) but without a workflow,
 * so a test controls the timestamp and the recorded verification; and a throwaway redis-server of the
 * test's own, so no test ever writes to the machine's shared Redis.
 */
import { join } from 'node:path';
import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { dumpTarget } from '../../activities/backup/dump';
import { localBackupDir, s3Key, writeLocalManifest, writeS3Manifest } from '../../activities/backup/store';
import { ConnectionRegistry } from '../../activities/connections/registry';
import { resolveTarget } from '../../activities/connections/resolve';
import { createS3Client } from '../../activities/s3/client';
import { uploadFile } from '../../activities/s3/transfer';
import {
  type BackupFormat,
  type BackupManifest,
  backupTargetName,
  timestampToIso,
  type VerificationOutcome,
} from '../../common/contracts/backup';
import type { DbopsConfig } from '../../config/load';
import { type RedisServerProcess, startRedisServer } from './redis-server';

let stampCounter = 0;

/** A timestamp no other backup of this test process has: 2024-01-01 plus one second per call. */
export function nextTimestamp(): string {
  stampCounter += 1;
  const instant = new Date(Date.UTC(2024, 0, 1) + stampCounter * 1000);
  return instant
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** What a test asks of a backup. */
export interface MakeBackupOptions {
  timestamp?: string;
  formats?: BackupFormat[];
  /** Also upload the files and the manifest to `config.s3.bucket`. */
  upload?: boolean;
  /** The verification outcome to record (default: passed at `read`). */
  verification?: VerificationOutcome['status'];
}

/** Backs up `ref` into `config`'s artifact folder (and S3 when asked) and commits the manifest. */
export async function makeBackup(
  config: DbopsConfig,
  ref: string,
  options: MakeBackupOptions = {},
): Promise<BackupManifest> {
  const timestamp = options.timestamp ?? nextTimestamp();
  const backupId = `${backupTargetName(ref)}/${timestamp}`;
  const connections = new ConnectionRegistry({ warn: () => undefined });
  const s3 = options.upload ? createS3Client(config.s3) : undefined;
  try {
    const dir = localBackupDir(config, backupId);
    const facts = await dumpTarget(
      resolveTarget(ref, config),
      connections,
      dir,
      options.formats ?? ['custom', 'plain', 'schema'],
      () => undefined,
    );
    if (s3) {
      for (const file of facts.files)
        await uploadFile(s3, config.s3.bucket, s3Key(config, backupId, file.name), join(dir, file.name));
    }
    const status = options.verification ?? 'passed';
    const manifest: BackupManifest = {
      formatVersion: 1,
      backupId,
      target: backupTargetName(ref),
      takenAt: timestampToIso(timestamp),
      workflowId: 'restore-test',
      ...facts,
      verification: {
        level: status === 'passed' ? 'read' : 'none',
        requested: 'read',
        status,
        checkedAt: new Date().toISOString(),
        details: status === 'failed' ? ['FAILED at checksum: made to fail by the test'] : [],
      },
      ...(s3 ? { s3: { bucket: config.s3.bucket, prefix: `${config.backup.prefix}/${backupId}/` } } : {}),
    };
    await writeLocalManifest(config, manifest);
    if (s3) await writeS3Manifest(s3, config, manifest);
    return manifest;
  } finally {
    s3?.destroy();
    await connections.close();
  }
}

/** Deletes every object of a bucket, then the bucket. */
export async function dropBucket(s3: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket })).catch(() => undefined);
    const keys = (page?.Contents ?? []).map((o) => ({ Key: o.Key ?? '' }));
    if (keys.length === 0) break;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
}

export { freePort } from './redis-server';

/** A redis-server on 127.0.0.1 that only this test uses; nothing is saved to disk. */
export class ThrowawayRedis {
  private constructor(
    private readonly server: RedisServerProcess,
    readonly client: Redis,
  ) {}

  /** Starts the server; resolves once it says it accepts connections. */
  static async start(dir: string): Promise<ThrowawayRedis> {
    const server = await startRedisServer({ dir, args: ['--save', '', '--appendonly', 'no'] });
    const client = new Redis({ port: server.port, host: '127.0.0.1' });
    client.on('error', () => undefined); // after stop(), the failing command reports it
    return new ThrowawayRedis(server, client);
  }

  get port(): number {
    return this.server.port;
  }

  /** `redis://127.0.0.1:<port>/<db>`. */
  url(db = 0): string {
    return `redis://127.0.0.1:${this.port}/${db}`;
  }

  /** A client of database `db` (the caller disconnects it). */
  db(db: number): Redis {
    return this.client.duplicate({ db });
  }

  /** Stops the server and waits for it to exit. */
  async stop(): Promise<void> {
    this.client.disconnect();
    await this.server.stop();
  }
}
