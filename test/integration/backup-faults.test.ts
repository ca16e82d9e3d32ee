/**
 * Backup faults an operator must be told about, on the real servers: a byte flipped in an uploaded object
 * (injected by a real activity interceptor right after the manifest is committed) fails verification, marks
 * the backup bad in both manifests, is named in the nightly e-mail, and its target's earlier good backups are
 * not touched by retention that night; an unreachable server, wrong credentials, a scratch-database name
 * clash, a missing bucket, and pg_dump missing or older than the server (a real shim script on the worker's
 * PATH) each end in their typed error while the other targets of the same nightly run complete; retention
 * reports and leaves alone objects that are not dbops backups and backups dated in the future.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import Database from 'better-sqlite3';
import { createConnection, type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyRetention } from '../../activities/backup/retention';
import {
  listLocal,
  listS3,
  localBackupDir,
  readLocalManifest,
  readS3Manifest,
  s3Key,
} from '../../activities/backup/store';
import { scratchName } from '../../activities/backup/verify';
import { createS3Client } from '../../activities/s3/client';
import { connectionEnvVar, passwordEnvVar } from '../../common/connection-ref';
import {
  BACKUP_DATABASE_WORKFLOW,
  type BackupDatabaseInput,
  type BackupDatabaseResult,
  backupTargetName,
  backupTimestamp,
  NIGHTLY_BACKUP_WORKFLOW,
  type NightlyBackupInput,
  type NightlyBackupResult,
} from '../../common/contracts/backup';
import { FUTURE_REASON } from '../../common/retention';
import type { DbopsConfig } from '../../config/load';
import { summarizeFailure } from '../../scripts/cli/output';
import { dropBucket, freePort, makeBackup } from '../support/backup';
import {
  activityStarts,
  backupEnv,
  createBucket,
  listObjects,
  mailpit,
  PgDatabase,
  pgDatabaseExists,
  SHARED_MINIO,
  testS3,
  WorkerProcess,
} from '../support/backup-harness';
import { SERVERS, withPg } from '../support/servers';
import { TestTemporal, testConfig, uniqueName } from '../support/temporal';

const DAY = 86_400_000;
/** The backup timestamp `msAgo` before now (tests use distinct offsets, so ids never collide). */
const stampAgo = (msAgo: number): string => backupTimestamp(new Date(Date.now() - msAgo));

/**
 * Fault injection through a real activity interceptor: once `backupCommit` of a backup id in `corrupt` has
 * written the manifests, the backup's uploaded `dump.pgcustom` is rewritten with one byte changed — same size,
 * same metadata (including the SHA-256 dbops stored), as a bit rot or a faulty store would leave it.
 */
class ByteFlipper {
  readonly corrupt = new Set<string>();
  readonly flipped: string[] = [];

  constructor(private readonly config: DbopsConfig) {}

  interceptor = (ctx: Context): { inbound: ActivityInboundCallsInterceptor } => ({
    inbound: {
      execute: async (input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) => {
        const result = await next(input);
        const backupId = (input.args[0] as { backupId?: string } | undefined)?.backupId;
        if (ctx.info.activityType === 'backupCommit' && backupId && this.corrupt.has(backupId)) {
          await this.flip(s3Key(this.config, backupId, 'dump.pgcustom'));
        }
        return result;
      },
    },
  });

  private async flip(key: string): Promise<void> {
    const s3 = createS3Client(this.config.s3);
    try {
      const bucket = this.config.s3.bucket;
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const bytes = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
      const at = Math.floor(bytes.length / 2);
      bytes[at] = (bytes[at] ?? 0) ^ 0x01;
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: bytes,
          Metadata: object.Metadata,
          ContentType: object.ContentType,
        }),
      );
      this.flipped.push(key);
    } finally {
      s3.destroy();
    }
  }
}

/** The result a failed nightly run attached to its failure. */
function nightlyResultOf(err: unknown): NightlyBackupResult {
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe('DBOPS_BACKUP_FAILED');
  return (cause as ApplicationFailure).details?.[0] as NightlyBackupResult;
}

/** The backup of `target` in a nightly result (fails the test when there is none). */
function backupOf(result: NightlyBackupResult, target: string): BackupDatabaseResult {
  const found = result.backups.find((b) => b.target === target);
  expect(found, `a backup of ${target} in ${JSON.stringify(result.backups.map((b) => b.target))}`).toBeDefined();
  return found as BackupDatabaseResult;
}

describe('backup faults: a corrupted object, typed errors that spare the other targets, retention', () => {
  let t: TestTemporal;
  let dir: string;
  let small: PgDatabase;
  let clash: PgDatabase;
  let sqlitePath: string;
  let mysqlAdmin: Connection;
  const suffix = randomBytes(4).toString('hex');
  const mysqlDb = `dbops_faults_${suffix}`;
  const mysqlUser = `dbops_faults_${suffix}`;
  const bucket = uniqueName('faults');
  const workers: WorkerProcess[] = [];
  const scratchDatabases: string[] = [];
  const mails: string[] = [];

  beforeAll(async () => {
    t = await TestTemporal.connect();
    dir = mkdtempSync(join(tmpdir(), 'dbops-faults-'));
    await createBucket(SHARED_MINIO, bucket);
    small = await PgDatabase.create('dbops_faults');
    clash = await PgDatabase.create('dbops_faults_clash');
    for (const db of [small, clash]) {
      await db.query(
        "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g",
      );
    }
    sqlitePath = join(dir, `faults_${suffix}.db`);
    const sqlite = new Database(sqlitePath);
    sqlite.exec(
      "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('a'), ('b'), ('c');",
    );
    sqlite.close();
    mysqlAdmin = await createConnection({ uri: SERVERS.mysql });
    await mysqlAdmin.query(`CREATE DATABASE \`${mysqlDb}\``);
    await mysqlAdmin.query(`CREATE TABLE \`${mysqlDb}\`.items (id INT PRIMARY KEY, name VARCHAR(40)) ENGINE=InnoDB`);
    await mysqlAdmin.query(`INSERT INTO \`${mysqlDb}\`.items VALUES (1, 'one'), (2, 'two')`);
    await mysqlAdmin.query(`CREATE USER '${mysqlUser}'@'%' IDENTIFIED BY 'the-right-${suffix}'`);
    await mysqlAdmin.query(`GRANT ALL ON \`${mysqlDb}\`.* TO '${mysqlUser}'@'%'`);
  });

  afterAll(async () => {
    for (const w of workers) await w.killGroup();
    await t?.cleanup();
    await mailpit.delete(mails);
    for (const name of scratchDatabases)
      await withPg(SERVERS.postgres, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    await small?.drop();
    await clash?.drop();
    if (mysqlAdmin) {
      await mysqlAdmin.query(`DROP DATABASE IF EXISTS \`${mysqlDb}\``);
      await mysqlAdmin.query(`DROP USER IF EXISTS '${mysqlUser}'@'%'`);
      await mysqlAdmin.end();
    }
    const s3 = testS3(SHARED_MINIO);
    await dropBucket(s3, bucket);
    s3.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'a byte flipped in an uploaded object (real activity interceptor): DBOPS_BACKUP_CORRUPT naming the object, both manifests failed; the nightly e-mail names it and the earlier good backups survive',
    { timeout: 120_000 },
    async () => {
      const email = `${uniqueName('faults')}@example.test`;
      const prefix = uniqueName('faults-flip');
      const env = backupEnv({ dir: join(dir, 'flip'), prefix, s3: { ...SHARED_MINIO, bucket }, email });
      const config = testConfig(t.taskQueue, env);
      const target = backupTargetName(small.url);
      const sqliteTarget = backupTargetName(sqlitePath);
      const [older, old, broken, nightly] = [
        stampAgo(100 * DAY),
        stampAgo(95 * DAY),
        stampAgo(120_000),
        stampAgo(60_000),
      ];
      const flipper = new ByteFlipper(config);
      flipper.corrupt.add(`${target}/${broken}`);
      flipper.corrupt.add(`${target}/${nightly}`);
      const brokenKey = s3Key(config, `${target}/${broken}`, 'dump.pgcustom');
      const nightlyKey = s3Key(config, `${target}/${nightly}`, 'dump.pgcustom');
      const backup = (timestamp: string) =>
        t.client.workflow.execute(BACKUP_DATABASE_WORKFLOW, {
          workflowId: t.workflowId('faults-flip'),
          taskQueue: t.taskQueue,
          args: [{ target: small.url, timestamp, formats: ['custom'] } satisfies BackupDatabaseInput],
        }) as Promise<BackupDatabaseResult>;

      const { brokenError, nightlyError } = await t.withWorker(
        async () => {
          for (const timestamp of [older, old]) {
            const good = await backup(timestamp);
            expect(good).toMatchObject({ status: 'completed', uploaded: true });
            expect(good.verification).toMatchObject({ status: 'passed', level: 'restore' });
          }
          const brokenError = await backup(broken).catch((err: unknown) => err);
          const nightlyError = await t.client.workflow
            .execute(NIGHTLY_BACKUP_WORKFLOW, {
              workflowId: t.workflowId('faults-flip-nightly'),
              taskQueue: t.taskQueue,
              args: [
                {
                  targets: [small.url, sqlitePath],
                  timestamp: nightly,
                  formats: ['custom'],
                } satisfies NightlyBackupInput,
              ],
            })
            .catch((err: unknown) => err);
          return { brokenError, nightlyError };
        },
        env,
        { interceptors: { activity: [flipper.interceptor] } },
      );
      expect(flipper.flipped).toEqual([brokenKey, nightlyKey]);

      // backupDatabase: the typed failure names the damaged object.
      expect(brokenError).toBeInstanceOf(WorkflowFailedError);
      const failure = summarizeFailure(brokenError);
      expect(failure.type).toBe('DBOPS_BACKUP_CORRUPT');
      expect(failure.message).toContain(`s3://${bucket}/${brokenKey} reads back as`);
      expect(failure.message).toContain('the stored object is damaged');
      const s3 = createS3Client(config.s3);
      try {
        for (const manifest of [
          await readLocalManifest(config, `${target}/${broken}`),
          await readS3Manifest(s3, config, `${target}/${broken}`),
        ]) {
          expect(manifest?.verification).toMatchObject({ status: 'failed', level: 'none', requested: 'restore' });
          expect(manifest?.verification.details[0]).toMatch(/^FAILED at checksum: s3:\/\/.*dump\.pgcustom reads back/);
        }

        // nightlyBackup: the other target completes and gets retention; the corrupt one fails and gets none.
        const result = nightlyResultOf(nightlyError);
        expect(result.status).toBe('partial');
        expect(result.failed).toEqual([target]);
        expect(backupOf(result, target).error?.type).toBe('DBOPS_BACKUP_CORRUPT');
        expect(backupOf(result, target).error?.message).toContain(nightlyKey);
        expect(backupOf(result, target).verification?.status).toBe('failed');
        expect(backupOf(result, sqliteTarget)).toMatchObject({ status: 'completed' });
        expect(result.retention.map((r) => `${r.location}:${r.target}`).sort()).toEqual([
          `local:${sqliteTarget}`,
          `s3:${sqliteTarget}`,
        ]);
        expect(result.notification).toEqual({ sent: ['email'], failed: [] });

        // The e-mail names the failed target, the error type and the damaged object.
        // Mailpit stores a message before its SMTP server accepts it: sent means searchable.
        const found = await mailpit.search(`to:"${email}"`);
        mails.push(...found.map((m) => m.ID));
        // Two mails: the failed backupDatabase run's own alert, and the nightly's report (its failure is
        // not alerted a second time).
        expect(found).toHaveLength(2);
        const nightlyMail = found.find((m) => m.Subject === `[FAILURE] dbops backup ${nightly}: 1 of 2 FAILED`);
        const alert = found.find((m) => m !== nightlyMail);
        expect(nightlyMail).toBeDefined();
        expect(alert?.Subject).toMatch(/dbops backupDatabase faults-flip-\S+ FAILED: DBOPS_BACKUP_CORRUPT/);
        const text = (await mailpit.message(nightlyMail?.ID ?? '')).Text;
        expect(text).toContain(`- ${target}: FAILED — DBOPS_BACKUP_CORRUPT`);
        expect(text).toContain(nightlyKey);
        expect(text).toContain(`- ${sqliteTarget}: ok`);

        // Every backup of the corrupt target is still there, locally and in S3, the good ones still good...
        const statuses = (listing: {
          backups: { manifest: { backupId: string; verification: { status: string } } }[];
        }) => listing.backups.map((b) => `${b.manifest.backupId}:${b.manifest.verification.status}`).sort();
        const expected = [
          `${target}/${older}:passed`,
          `${target}/${old}:passed`,
          `${target}/${broken}:failed`,
          `${target}/${nightly}:failed`,
        ].sort();
        expect(statuses(await listLocal(config, target))).toEqual(expected);
        expect(statuses(await listS3(s3, config, target))).toEqual(expected);
        // ...although retention, had it run for this target, would have deleted the older good one: the skip mattered.
        const now = new Date().toISOString();
        const { local, s3: remote } = config.backup.retention;
        for (const plan of [
          await applyRetention(config, 'local', target, local, { now, dryRun: true }),
          await applyRetention(config, 's3', target, remote, { now, dryRun: true, s3 }),
        ]) {
          const decision = (ts: string) => plan.decisions.find((d) => d.id === `${target}/${ts}`);
          expect(decision(older)?.action, plan.location).toBe('delete');
          expect(decision(old)?.reasons, plan.location).toContain('newest verified backup');
          expect(plan.deleted).toEqual([]);
        }
      } finally {
        s3.destroy();
      }
    },
  );

  describe.concurrent('typed errors; the other targets of the same nightly run complete', () => {
    it(
      'an unreachable server (DBOPS_UNREACHABLE after retries), wrong credentials (DBOPS_AUTH_FAILED), a scratch-name clash (DBOPS_SCRATCH_EXISTS)',
      { timeout: 120_000 },
      async ({ expect }) => {
        const taskQueue = uniqueName('q-faults-errors');
        const authName = `faults_auth_${suffix}`;
        const unreachable = `postgres://root@127.0.0.1:${await freePort()}/faults_unreachable_${suffix}`;
        const timestamp = stampAgo(3 * 60_000);
        const clashTarget = backupTargetName(clash.url);
        const scratch = scratchName(`${clashTarget}/${timestamp}`);
        // Someone else's database under the name verification would use (no dbops comment on it).
        await withPg(SERVERS.postgres, (c) => c.query(`CREATE DATABASE ${scratch}`));
        scratchDatabases.push(scratch);
        const env = backupEnv({
          dir: join(dir, 'errors'),
          prefix: uniqueName('faults-errors'),
          s3: { ...SHARED_MINIO, bucket },
          env: {
            [connectionEnvVar(authName)]: `mysql://${mysqlUser}@127.0.0.1:3306/${mysqlDb}`,
            [passwordEnvVar(authName)]: `the-wrong-${suffix}`,
          },
        });
        const worker = WorkerProcess.start(taskQueue, env);
        workers.push(worker);
        const error = await t.client.workflow
          .execute(NIGHTLY_BACKUP_WORKFLOW, {
            workflowId: t.workflowId('faults-errors'),
            taskQueue,
            args: [
              {
                targets: [unreachable, authName, clash.url, small.url, sqlitePath],
                timestamp,
                verify: 'restore',
              } satisfies NightlyBackupInput,
            ],
          })
          .catch((err: unknown) => err);
        const result = nightlyResultOf(error);
        const unreachableTarget = backupTargetName(unreachable);
        expect(result.status, worker.log()).toBe('partial');
        expect(result.failed.sort()).toEqual([authName, clashTarget, unreachableTarget].sort());

        expect(backupOf(result, unreachableTarget).error).toMatchObject({ type: 'DBOPS_UNREACHABLE' });
        expect(backupOf(result, unreachableTarget).error?.message).toMatch(/cannot connect \(ECONNREFUSED\)/);
        // Retried by the activity policy (5 attempts) before giving up.
        const child = t.client.workflow.getHandle(`backup-${unreachableTarget}-${timestamp}`);
        expect((await activityStarts(child, 'backupDump')).map((a) => a.attempt)).toEqual([5]);

        expect(backupOf(result, authName).error).toMatchObject({ type: 'DBOPS_AUTH_FAILED' });
        expect(backupOf(result, authName).error?.message).toContain('Access denied');
        expect(backupOf(result, authName).error?.message).not.toContain(`the-wrong-${suffix}`);

        expect(backupOf(result, clashTarget).error).toMatchObject({ type: 'DBOPS_SCRATCH_EXISTS' });
        expect(backupOf(result, clashTarget).error?.message).toContain(`"${scratch}"`);
        expect(await pgDatabaseExists(scratch)).toBe(true); // not dbops': never dropped

        for (const good of [backupTargetName(small.url), backupTargetName(sqlitePath)]) {
          expect(backupOf(result, good), good).toMatchObject({ status: 'completed', uploaded: true });
          expect(backupOf(result, good).verification, good).toMatchObject({ status: 'passed', level: 'restore' });
        }
        expect([...new Set(result.retention.map((r) => r.target))].sort()).toEqual(
          [backupTargetName(small.url), backupTargetName(sqlitePath)].sort(),
        );
      },
    );

    it(
      'pg_dump older than the server (a real shim script first on the worker PATH): DBOPS_TOOL_MISSING; the MariaDB target completes',
      { timeout: 120_000 },
      async ({ expect }) => {
        const taskQueue = uniqueName('q-faults-oldtool');
        const shims = join(dir, 'old-pg-dump');
        mkdirSync(shims, { recursive: true });
        writeFileSync(
          join(shims, 'pg_dump'),
          '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 9.6.24"; exit 0; fi\necho "shim: not a pg_dump" >&2\nexit 1\n',
          { mode: 0o755 },
        );
        const env = backupEnv({
          dir: join(dir, 'oldtool'),
          prefix: uniqueName('faults-oldtool'),
          s3: { ...SHARED_MINIO, bucket },
          env: { PATH: `${shims}:${process.env.PATH ?? ''}` },
        });
        const worker = WorkerProcess.start(taskQueue, env);
        workers.push(worker);
        const mysqlUrl = `mysql://root@127.0.0.1:3306/${mysqlDb}`;
        const error = await t.client.workflow
          .execute(NIGHTLY_BACKUP_WORKFLOW, {
            workflowId: t.workflowId('faults-oldtool'),
            taskQueue,
            args: [{ targets: [small.url, mysqlUrl], timestamp: stampAgo(4 * 60_000) } satisfies NightlyBackupInput],
          })
          .catch((err: unknown) => err);
        const result = nightlyResultOf(error);
        expect(result.status, worker.log()).toBe('partial');
        const pg = backupOf(result, backupTargetName(small.url));
        expect(pg.error?.type).toBe('DBOPS_TOOL_MISSING');
        expect(pg.error?.message).toContain('pg_dump (PostgreSQL) 9.6.24 is older than the server');
        expect(pg.error?.message).toContain('install postgresql-client-');
        const mysql = backupOf(result, backupTargetName(mysqlUrl));
        expect(mysql).toMatchObject({ status: 'completed', engine: 'mysql' });
        expect(mysql.verification).toMatchObject({ status: 'passed', level: 'restore' });
      },
    );

    it(
      'pg_dump not installed (a worker PATH holding node only): DBOPS_TOOL_MISSING; the SQLite target completes',
      { timeout: 120_000 },
      async ({ expect }) => {
        const taskQueue = uniqueName('q-faults-notool');
        const bin = join(dir, 'node-only');
        mkdirSync(bin, { recursive: true });
        symlinkSync(process.execPath, join(bin, 'node'));
        const env = backupEnv({
          dir: join(dir, 'notool'),
          prefix: uniqueName('faults-notool'),
          s3: { ...SHARED_MINIO, bucket },
          env: { PATH: bin },
        });
        const worker = WorkerProcess.start(taskQueue, env);
        workers.push(worker);
        const error = await t.client.workflow
          .execute(NIGHTLY_BACKUP_WORKFLOW, {
            workflowId: t.workflowId('faults-notool'),
            taskQueue,
            args: [{ targets: [small.url, sqlitePath], timestamp: stampAgo(5 * 60_000) } satisfies NightlyBackupInput],
          })
          .catch((err: unknown) => err);
        const result = nightlyResultOf(error);
        expect(result.status, worker.log()).toBe('partial');
        const pg = backupOf(result, backupTargetName(small.url));
        expect(pg.error?.type).toBe('DBOPS_TOOL_MISSING');
        expect(pg.error?.message).toContain("pg_dump is not installed on the worker's host (not found on PATH)");
        const sqlite = backupOf(result, backupTargetName(sqlitePath));
        expect(sqlite).toMatchObject({ status: 'completed', engine: 'sqlite' });
        expect(sqlite.verification).toMatchObject({ status: 'passed', level: 'restore' });
      },
    );
  });

  it('a missing bucket: DBOPS_BUCKET_MISSING before anything is dumped', { timeout: 60_000 }, async () => {
    const missing = uniqueName('faults-missing');
    const env = backupEnv({
      dir: join(dir, 'missing'),
      prefix: uniqueName('faults-missing'),
      s3: { ...SHARED_MINIO, bucket: missing },
    });
    const config = testConfig(t.taskQueue, env);
    const timestamp = stampAgo(6 * 60_000);
    const handle = await t.client.workflow.start(BACKUP_DATABASE_WORKFLOW, {
      workflowId: t.workflowId('faults-missing'),
      taskQueue: t.taskQueue,
      args: [{ target: small.url, timestamp, upload: true } satisfies BackupDatabaseInput],
    });
    const error = await t.withWorker(() => handle.result().catch((err: unknown) => err), env);
    const failure = summarizeFailure(error);
    expect(failure.type).toBe('DBOPS_BUCKET_MISSING');
    expect(failure.message).toContain(`S3 bucket "${missing}" does not exist`);
    expect(await activityStarts(handle, 'backupDump')).toEqual([]);
    expect(existsSync(localBackupDir(config, `${backupTargetName(small.url)}/${timestamp}`))).toBe(false);
  });

  it(
    'retention with a foreign object and a clock-skewed backup in the prefix: both reported and left alone; a local backup older than 30 days deleted, the newest verified kept',
    { timeout: 90_000 },
    async () => {
      const prefix = uniqueName('faults-retention');
      const env = backupEnv({ dir: join(dir, 'retention'), prefix, s3: { ...SHARED_MINIO, bucket } });
      const config = testConfig(t.taskQueue, env);
      const target = backupTargetName(sqlitePath);
      const old = await makeBackup(config, sqlitePath, { timestamp: stampAgo(40 * DAY), upload: true });
      const future = await makeBackup(config, sqlitePath, { timestamp: '20991231T000000Z', upload: true });
      const s3 = testS3(SHARED_MINIO);
      const foreignKeys = [`${prefix}/${target}/notes.txt`, `${prefix}/random.bin`];
      for (const key of foreignKeys)
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'not a backup' }));
      const localTarget = join(config.artifactDir, prefix, target);
      mkdirSync(join(localTarget, 'notes'));
      writeFileSync(join(localTarget, 'README.txt'), 'not a backup');
      const timestamp = stampAgo(7 * 60_000);
      try {
        const result = (await t.withWorker(
          () =>
            t.client.workflow.execute(NIGHTLY_BACKUP_WORKFLOW, {
              workflowId: t.workflowId('faults-retention'),
              taskQueue: t.taskQueue,
              args: [{ targets: [sqlitePath], timestamp } satisfies NightlyBackupInput],
            }),
          env,
        )) as NightlyBackupResult;
        expect(result.status).toBe('completed');
        const tonight = `${target}/${timestamp}`;
        const report = (location: 'local' | 's3') => {
          const found = result.retention.find((r) => r.location === location && r.target === target);
          expect(found, location).toBeDefined();
          return found as NonNullable<typeof found>;
        };
        const decision = (location: 'local' | 's3', id: string) => report(location).decisions.find((d) => d.id === id);

        // Local (30 days): the 40-day-old backup goes, tonight's stays as the newest verified.
        expect(report('local').deleted).toEqual([old.backupId]);
        expect(decision('local', tonight)?.reasons).toContain('newest verified backup');
        expect(report('local').ignored).toEqual(
          expect.arrayContaining([join(localTarget, 'notes'), join(localTarget, 'README.txt')]),
        );
        // S3 (90 days): the 40-day-old backup is within the window.
        expect(report('s3').deleted).toEqual([]);
        expect(decision('s3', old.backupId)).toMatchObject({ action: 'keep', reasons: ['within 90 days'] });
        expect(report('s3').ignored).toContain(foreignKeys[0]);
        for (const location of ['local', 's3'] as const) {
          expect(decision(location, future.backupId), location).toEqual({
            id: future.backupId,
            action: 'keep',
            reasons: [FUTURE_REASON],
          });
        }

        // Nothing but the expired local copy was removed.
        expect(existsSync(localBackupDir(config, old.backupId))).toBe(false);
        expect(await readLocalManifest(config, future.backupId)).toBeDefined();
        expect(existsSync(join(localTarget, 'notes'))).toBe(true);
        expect(existsSync(join(localTarget, 'README.txt'))).toBe(true);
        const stored = (await listObjects(s3, bucket, `${prefix}/`)).map((o) => o.key);
        expect(stored).toEqual(expect.arrayContaining(foreignKeys));
        for (const id of [old.backupId, future.backupId, tonight]) {
          expect(stored, id).toContain(s3Key(config, id, 'manifest.json'));
          expect(stored, id).toContain(s3Key(config, id, 'database.sqlite'));
        }
      } finally {
        s3.destroy();
      }
    },
  );
});
