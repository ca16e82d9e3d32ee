/**
 * Backups survive the two crashes that hit them mid-transfer, on real servers: a MinIO of the test's own
 * SIGKILLed while the dump is being uploaded and started again (the upload retries, the manifest appears
 * only after every object, every object hashes to it), and a worker process SIGKILLed while pg_dump runs
 * (the dump is retried after the heartbeat timeout by a new worker, nothing half-written is left, the
 * restore-level verification passes). The database holds ~80 MiB of random bytes so both phases last.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, ListMultipartUploadsCommand, ListPartsCommand, type S3Client } from '@aws-sdk/client-s3';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localBackupDir, readLocalManifest, readS3Manifest } from '../../activities/backup/store';
import { scratchName } from '../../activities/backup/verify';
import { createS3Client } from '../../activities/s3/client';
import { hashObject, SHA256_METADATA } from '../../activities/s3/transfer';
import { sha256File } from '../../activities/files/sha256';
import {
  BACKUP_DATABASE_WORKFLOW,
  type BackupDatabaseInput,
  type BackupDatabaseResult,
  backupTargetName,
  backupTimestamp,
  MANIFEST_FILE,
} from '../../common/contracts/backup';
import type { Progress } from '../../common/progress';
import {
  activityStarts,
  backupEnv,
  createBucket,
  listObjects,
  PgDatabase,
  pgDatabaseExists,
  PrivateMinio,
  SHARED_MINIO,
  testS3,
  watchPrefix,
  WorkerProcess,
} from '../support/backup-harness';
import { TestTemporal, testConfig, uniqueName } from '../support/temporal';

const MEGABYTES = 80;

describe('backup faults mid-transfer: MinIO killed during the upload, the worker killed during the dump', () => {
  let t: TestTemporal;
  let db: PgDatabase;
  let dir: string;
  let minio: PrivateMinio | undefined;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    t = await TestTemporal.connect();
    dir = mkdtempSync(join(tmpdir(), 'dbops-faults-io-'));
    db = await PgDatabase.create('dbops_faults_io');
    await db.fillIncompressible(MEGABYTES);
  });
  afterAll(async () => {
    for (const w of workers) await w.killGroup();
    await minio?.stop();
    await t?.cleanup();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'MinIO SIGKILLed mid-upload and started again: the backup completes, no manifest while an object was missing, every object hashes to the manifest',
    { timeout: 150_000 },
    async () => {
      minio = await PrivateMinio.start(join(dir, 'minio'));
      const bucket = 'faults-upload';
      const s3target = minio.s3(bucket);
      await createBucket(s3target, bucket);
      const prefix = uniqueName('faults-upload');
      const env = backupEnv({ dir: join(dir, 'upload'), prefix, s3: s3target });
      const config = testConfig(t.taskQueue, env);
      const timestamp = backupTimestamp(new Date());
      const backupId = `${backupTargetName(db.url)}/${timestamp}`;
      const folder = `${prefix}/${backupId}/`;
      const s3 = testS3(s3target);
      const input: BackupDatabaseInput = { target: db.url, timestamp, formats: ['custom'], verify: 'checksum' };
      const handle = await t.client.workflow.start(BACKUP_DATABASE_WORKFLOW, {
        workflowId: t.workflowId('faults-upload'),
        taskQueue: t.taskQueue,
        args: [input],
      });

      const run = await t.withWorker(async () => {
        const watcher = watchPrefix(s3, bucket, folder);
        try {
          // The dump's multipart upload is under way: at least one part is stored, the object is not.
          await expect
            .poll(() => uploadedParts(s3, bucket, `${folder}dump.pgcustom`), { timeout: 90_000, interval: 5 })
            .toBeGreaterThan(0);
          const atKill = {
            phase: (await handle.query<Progress>('progress')).phase,
            manifest: await exists(s3, bucket, `${folder}${MANIFEST_FILE}`),
            dump: await exists(s3, bucket, `${folder}dump.pgcustom`),
          };
          await minio?.kill();
          await minio?.restart();
          const result = (await handle.result()) as BackupDatabaseResult;
          return { atKill, result, seen: await watcher.stop() };
        } finally {
          await watcher.stop();
        }
      }, env);

      expect(run.atKill).toEqual({ phase: 'upload', manifest: false, dump: false });
      expect(run.result).toMatchObject({ status: 'completed', backupId, uploaded: true });
      expect(run.result.verification).toMatchObject({ status: 'passed', level: 'checksum' });
      expect(run.result.verification?.details).toContain('checksum: 2 file(s) match their SHA-256 locally and in S3');
      // The upload was retried (by the S3 client or the activity); the dump was taken once.
      expect((await activityStarts(handle, 'backupDump')).map((a) => a.attempt)).toEqual([1]);

      const client = createS3Client(config.s3);
      try {
        const manifest = await readS3Manifest(client, config, backupId);
        expect(manifest?.verification.status).toBe('passed');
        expect((await readLocalManifest(config, backupId))?.files).toEqual(manifest?.files);
        const files = manifest?.files ?? [];
        expect(files.map((f) => f.name).sort()).toEqual(['dump.pgcustom', 'globals.sql']);
        expect(files.find((f) => f.name === 'dump.pgcustom')?.bytes).toBeGreaterThan(MEGABYTES * 1024 * 1024);

        // Exactly the files and the manifest are stored, each at its full size and hashing to the manifest.
        const stored = await listObjects(s3, bucket, folder);
        expect(stored.map((o) => o.key).sort()).toEqual(
          ['dump.pgcustom', 'globals.sql', MANIFEST_FILE].map((n) => `${folder}${n}`),
        );
        for (const file of files) {
          const key = `${folder}${file.name}`;
          expect(stored.find((o) => o.key === key)?.size, key).toBe(file.bytes);
          expect(await hashObject(client, bucket, key), key).toEqual({ sha256: file.sha256, bytes: file.bytes });
          const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
          expect(head.Metadata?.[SHA256_METADATA], key).toBe(file.sha256);
          expect(await sha256File(join(localBackupDir(config, backupId), file.name)), key).toBe(file.sha256);
        }

        // Whatever moment an observer listed the folder, a manifest never stood beside a missing or short file.
        const withManifest = run.seen.filter((l) => l.some((o) => o.key === `${folder}${MANIFEST_FILE}`));
        expect(run.seen.length - withManifest.length).toBeGreaterThan(0);
        for (const listing of withManifest) {
          expect(
            files.map((f) => listing.find((o) => o.key === `${folder}${f.name}`)?.size),
            'sizes listed beside a manifest',
          ).toEqual(files.map((f) => f.bytes));
        }
      } finally {
        client.destroy();
        s3.destroy();
      }
    },
  );

  it(
    'the worker SIGKILLed mid-dump: a new worker retries the dump after the heartbeat timeout, no .part file is left, the restore verification passes',
    { timeout: 180_000 },
    async () => {
      const taskQueue = uniqueName('q-faults-crash');
      // upload: false — this test is about the local dump; the bucket is never touched.
      const env = backupEnv({
        dir: join(dir, 'crash'),
        prefix: uniqueName('faults-crash'),
        s3: { ...SHARED_MINIO, bucket: uniqueName('faults-unused') },
      });
      const config = testConfig(taskQueue, env);
      const timestamp = backupTimestamp(new Date(Date.now() - 60_000));
      const backupId = `${backupTargetName(db.url)}/${timestamp}`;
      const folder = localBackupDir(config, backupId);
      const part = join(folder, 'dump.pgcustom.part');
      const first = WorkerProcess.start(taskQueue, env);
      workers.push(first);
      const input: BackupDatabaseInput = {
        target: db.url,
        timestamp,
        formats: ['custom'],
        verify: 'restore',
        upload: false,
      };
      const handle = await t.client.workflow.start(BACKUP_DATABASE_WORKFLOW, {
        workflowId: t.workflowId('faults-crash'),
        taskQueue,
        args: [input],
      });

      // pg_dump is writing: the workflow is in its dump phase and the partial file holds some data.
      await expect
        .poll(
          async () =>
            (await handle.query<Progress>('progress')).phase === 'dump' &&
            existsSync(part) &&
            statSync(part).size > 4 * 1024 * 1024,
          { timeout: 90_000, interval: 20 },
        )
        .toBe(true);
      first.kill('SIGKILL');
      await first.exited;
      expect(existsSync(join(folder, MANIFEST_FILE))).toBe(false);

      const second = WorkerProcess.start(taskQueue, env);
      workers.push(second);
      const result = (await handle.result()) as BackupDatabaseResult;

      expect(result).toMatchObject({ status: 'completed', backupId, uploaded: false });
      expect(result.verification).toMatchObject({ status: 'passed', level: 'restore', requested: 'restore' });
      expect(result.verification?.details.some((d) => d.startsWith('restore: restored into scratch database'))).toBe(
        true,
      );
      // The dump ran again once the killed attempt's heartbeats had stopped for the heartbeat timeout.
      const dumps = await activityStarts(handle, 'backupDump');
      expect(dumps).toHaveLength(1);
      expect(dumps[0]?.attempt).toBeGreaterThanOrEqual(2);
      expect(dumps[0]?.lastFailure?.timeoutFailureInfo?.timeoutType).toBe(
        temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT,
      );

      const manifest = await readLocalManifest(config, backupId);
      expect(manifest?.verification).toMatchObject({ status: 'passed', level: 'restore' });
      expect(manifest?.rowCounts).toEqual({ 'public.blobs': MEGABYTES });
      expect(manifest?.files.map((f) => f.name).sort()).toEqual(['dump.pgcustom', 'globals.sql']);
      for (const file of manifest?.files ?? []) {
        expect(await sha256File(join(folder, file.name)), file.name).toBe(file.sha256);
        expect(statSync(join(folder, file.name)).size, file.name).toBe(file.bytes);
      }
      const left = readdirSync(folder);
      expect(left.filter((name) => name.endsWith('.part') || name.endsWith('.tmp'))).toEqual([]);
      expect(left.sort()).toEqual(['dump.json', 'dump.pgcustom', 'globals.sql', MANIFEST_FILE]);
      // The scratch database of the restore verification was dropped.
      expect(await pgDatabaseExists(scratchName(backupId))).toBe(false);
    },
  );
});

/** Parts stored so far by the in-progress multipart upload(s) of `key`. */
async function uploadedParts(s3: S3Client, bucket: string, key: string): Promise<number> {
  const { Uploads } = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
  let parts = 0;
  for (const upload of Uploads ?? []) {
    if (upload.Key !== key) continue;
    const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: upload.UploadId }));
    parts += listed.Parts?.length ?? 0;
  }
  return parts;
}

/** True when `key` is a stored object. */
async function exists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  return s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
    () => true,
    (err: { name?: string }) => {
      if (err.name === 'NotFound' || err.name === 'NoSuchKey') return false;
      throw err;
    },
  );
}
