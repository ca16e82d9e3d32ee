/**
 * The nightly backup end to end on the real servers: one `nightlyBackup` over a PostgreSQL database, a
 * MariaDB database, the Redis server and a SQLite file, uploaded to a bucket of the test's own in MinIO,
 * each verified by a test restore; the notification reaches Mailpit and a webhook listener; a second run
 * with the same timestamp reuses every backup; the Schedule is applied idempotently and a triggered run
 * names its backups after the scheduled time.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';
import type { Context } from '@temporalio/activity';
import type { ActivityInboundCallsInterceptor } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, ensureBucket } from '../../activities/s3/client';
import {
  BACKUP_DATABASE_WORKFLOW,
  type BackupDatabaseResult,
  type BackupManifest,
  NIGHTLY_BACKUP_WORKFLOW,
  type NightlyBackupResult,
} from '../../common/contracts/backup';
import { applyNightlySchedule, NIGHTLY_SCHEDULE_ID } from '../../scripts/schedules/nightly';
import { dropBucket } from '../support/backup';
import { parseJson, runDbops } from '../support/cli';
import { mailpit } from '../support/mailpit';
import { TestDatabase } from '../support/migration';
import { SERVERS } from '../support/servers';
import { testConfig, testEnv, TestTemporal, uniqueName } from '../support/temporal';

describe('nightly backup on every engine', () => {
  let t: TestTemporal;
  const pg = new TestDatabase();
  const mysqlDb = uniqueName('dbops_bk').replace(/-/g, '_');
  const bucket = uniqueName('dbops-bk');
  const artifacts = mkdtempSync(join(tmpdir(), 'dbops-backup-'));
  const hooks: { path: string; body: { text: string } }[] = [];
  const mails: string[] = [];
  let server: Server;
  let env: Record<string, string>;
  let sqlitePath: string;
  const redisKey = uniqueName('dbops-backup-test');

  beforeAll(async () => {
    t = await TestTemporal.connect();
    await pg.create();
    await pg.query(`CREATE TABLE users (id int PRIMARY KEY, name text, meta jsonb);
      INSERT INTO users SELECT g, 'user ' || g, jsonb_build_object('n', g) FROM generate_series(1, 1500) g;
      CREATE SCHEMA app; CREATE TABLE app.events (id bigserial PRIMARY KEY, at timestamptz DEFAULT now());
      INSERT INTO app.events (at) SELECT now() FROM generate_series(1, 321);`);
    const my = await createConnection({ uri: SERVERS.mysql });
    await my.query(`CREATE DATABASE ${mysqlDb}`);
    await my.query(`CREATE TABLE ${mysqlDb}.orders (id int PRIMARY KEY, note varchar(50)) ENGINE=InnoDB`);
    await my.query(`INSERT INTO ${mysqlDb}.orders SELECT seq, CONCAT('order ', seq) FROM seq_1_to_777`);
    await my.end();
    const redis = new Redis(SERVERS.redis);
    await redis.select(12);
    await redis.set(redisKey, 'kept in the snapshot');
    redis.disconnect();
    sqlitePath = pg.sqliteFixture(
      'shop.db',
      `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250) INSERT INTO items SELECT i, 'item ' || i FROM n;`,
    );
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        hooks.push({ path: req.url ?? '', body: JSON.parse(body) as { text: string } });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    env = {
      DBOPS_ARTIFACT_DIR: artifacts,
      DBOPS_S3_BUCKET: bucket,
      DBOPS_CONNECTION_T_PG: pg.url,
      DBOPS_CONNECTION_T_MYSQL: `mysql://root@127.0.0.1:3306/${mysqlDb}`,
      DBOPS_CONNECTION_T_REDIS: 'redis://127.0.0.1:6379/0',
    };
    // Secrets are read from the worker's own environment when used (never from config); this worker runs in
    // the test's process, so the test sets the variable for its duration.
    process.env.DBOPS_NOTIFY_WEBHOOK_URL = `http://127.0.0.1:${port}/hooks/T000/B000/not-a-real-secret`;
    const s3 = createS3Client(testConfig(t.taskQueue, env).s3);
    await ensureBucket(s3, bucket);
    s3.destroy();
  });

  afterAll(async () => {
    delete process.env.DBOPS_NOTIFY_WEBHOOK_URL;
    await t?.client.schedule
      .getHandle(NIGHTLY_SCHEDULE_ID)
      .delete()
      .catch(() => undefined);
    await t?.cleanup();
    const s3 = createS3Client(testConfig('x', env).s3);
    await dropBucket(s3, bucket);
    s3.destroy();
    const my = await createConnection({ uri: SERVERS.mysql });
    await my.query(`DROP DATABASE IF EXISTS ${mysqlDb}`);
    await my.end();
    await pg.drop();
    server?.close();
    await mailpit.delete(mails);
    rmSync(artifacts, { recursive: true, force: true });
    const redis = new Redis(SERVERS.redis);
    await redis.select(12);
    await redis.del(redisKey);
    redis.disconnect();
  });

  it('backs up PostgreSQL, MariaDB, Redis and SQLite, verified by a test restore, notified by e-mail and webhook, and reuses them on a rerun', async () => {
    const timestamp = '20261130T030000Z';
    const input = { targets: ['t_pg', 't_mysql', 't_redis', sqlitePath], timestamp };
    const result = await t.withWorker(async () => {
      const first = (await t.client.workflow.execute(NIGHTLY_BACKUP_WORKFLOW, {
        taskQueue: t.taskQueue,
        workflowId: t.workflowId('nightly'),
        args: [input],
      })) as NightlyBackupResult;
      const again = (await t.client.workflow.execute(NIGHTLY_BACKUP_WORKFLOW, {
        taskQueue: t.taskQueue,
        workflowId: t.workflowId('nightly-again'),
        args: [{ ...input, skipRetention: true }],
      })) as NightlyBackupResult;
      return { first, again };
    }, env);

    const { first, again } = result;
    expect(first.status).toBe('completed');
    expect(first.failed).toEqual([]);
    const byTarget = Object.fromEntries(first.backups.map((b) => [b.target, b]));
    expect(Object.keys(byTarget).sort()).toEqual(['sqlite-shop', 't_mysql', 't_pg', 't_redis']);
    for (const b of first.backups) {
      expect(b.status, b.target).toBe('completed');
      expect(b.backupId).toBe(`${b.target}/${timestamp}`);
      expect(b.verification).toMatchObject({ level: 'restore', status: 'passed' });
      expect(b.uploaded).toBe(true);
    }
    expect(byTarget.t_pg?.files.map((f) => f.name).sort()).toEqual([
      'dump.pgcustom',
      'dump.sql.gz',
      'globals.sql',
      'schema.sql',
    ]);

    // The manifest, in S3, written last, with the counts taken in the dump's snapshot.
    const s3 = createS3Client(testConfig(t.taskQueue, env).s3);
    try {
      const manifestOf = async (target: string): Promise<BackupManifest> => {
        const key = `backups/${target}/${timestamp}/manifest.json`;
        const { GetObjectCommand } = await import('@aws-sdk/client-s3');
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return JSON.parse(await (object.Body?.transformToString() ?? '')) as BackupManifest;
      };
      const pgManifest = await manifestOf('t_pg');
      expect(pgManifest.rowCounts).toEqual({ 'public.users': 1500, 'app.events': 321 });
      expect(pgManifest.verification.status).toBe('passed');
      expect(pgManifest.source.address).toBe(`postgres://127.0.0.1:5432/${pg.name}`);
      expect((await manifestOf('t_mysql')).rowCounts).toEqual({ orders: 777 });
      expect((await manifestOf('sqlite-shop')).rowCounts).toEqual({ items: 250 });
      expect((await manifestOf('t_redis')).keyCounts?.db12).toBeGreaterThanOrEqual(1);
      for (const file of pgManifest.files) {
        const head = await s3.send(
          new HeadObjectCommand({ Bucket: bucket, Key: `backups/t_pg/${timestamp}/${file.name}` }),
        );
        expect(head.ContentLength).toBe(file.bytes);
        expect(head.Metadata?.['dbops-sha256']).toBe(file.sha256);
      }
    } finally {
      s3.destroy();
    }

    // A second run for the same night takes nothing again.
    expect(again.status).toBe('completed');
    expect(again.backups.every((b) => b.reused === true)).toBe(true);

    // One notification per run, on both channels.
    expect(first.notification).toEqual({ sent: ['email', 'webhook'], failed: [] });
    expect(hooks[0]?.path).toBe('/hooks/T000/B000/not-a-real-secret');
    expect(hooks[0]?.body.text).toContain(timestamp);
    // Mailpit stores a message before its SMTP server accepts it: sent means searchable.
    const found = await mailpit.search(`subject:"dbops backup ${timestamp}"`);
    mails.push(...found.map((m) => m.ID));
    expect(found.length).toBeGreaterThanOrEqual(2);
    const text = (await mailpit.message(found[0]?.ID ?? '')).Text;
    expect(text).toContain('t_pg: ok');
    expect(text).toContain('sqlite-shop: ok');

    // `dbops backups list` reads the same manifests, in both places, with what retention decides today.
    const listed = parseJson<{
      backups: { backupId: string; location: string; verification: string; retention: string }[];
    }>(await runDbops(['backups', 'list', '--json'], testEnv(t.taskQueue, env)));
    const pgCopies = listed.backups.filter((b) => b.backupId === `t_pg/${timestamp}`);
    expect(pgCopies.map((b) => b.location).sort()).toEqual(['local', 's3']);
    expect(pgCopies[0]?.verification).toBe('passed (restore)');
    expect(pgCopies[0]?.retention).toMatch(/^keep: .*newest verified backup/);
  });

  it('dbops backup --wait --json: one JSON object, exit 0 when every target is backed up, exit 1 with the full result when one fails', async () => {
    const cliEnv = testEnv(t.taskQueue, env);
    const { ok, failed } = await t.withWorker(async () => {
      const ok = await runDbops(['backup', sqlitePath, '--verify', 'read', '--no-upload', '--wait', '--json'], cliEnv);
      const failed = await runDbops(
        ['backup', sqlitePath, join(artifacts, 'missing.db'), '--no-upload', '--no-retention', '--wait', '--json'],
        cliEnv,
      );
      return { ok, failed };
    }, env);
    expect(ok.code, ok.stderr).toBe(0);
    const result = parseJson<NightlyBackupResult>(ok);
    expect(result.backups[0]).toMatchObject({ target: 'sqlite-shop', status: 'completed', uploaded: false });
    expect(result.backups[0]?.verification).toMatchObject({ level: 'read', status: 'passed' });
    expect(failed.code).toBe(1);
    const report = parseJson<{ status: string; error: { type: string }; result: NightlyBackupResult }>(failed);
    expect(report.status).toBe('failed');
    expect(report.error.type).toBe('DBOPS_BACKUP_FAILED');
    expect(report.result.backups.map((b) => [b.target, b.status])).toEqual([
      ['sqlite-shop', 'completed'],
      ['sqlite-missing', 'failed'],
    ]);
    expect(report.result.backups[1]?.error?.type).toBe('DBOPS_BAD_INPUT');
  });

  it('encrypts uploads with the configured KMS key (SSE aws:kms on MinIO)', async () => {
    const sseEnv = { ...env, DBOPS_BACKUP_SSE: 'aws:kms', DBOPS_BACKUP_SSE_KMS_KEY_ID: 'dbops-local-key' };
    const result = await t.withWorker(
      () =>
        t.client.workflow.execute(BACKUP_DATABASE_WORKFLOW, {
          taskQueue: t.taskQueue,
          workflowId: t.workflowId('sse'),
          args: [{ target: sqlitePath, timestamp: '20261129T030000Z', verify: 'checksum' }],
        }) as Promise<BackupDatabaseResult>,
      sseEnv,
    );
    expect(result).toMatchObject({ status: 'completed', uploaded: true });
    const s3 = createS3Client(testConfig(t.taskQueue, sseEnv).s3);
    try {
      for (const name of ['database.sqlite', 'manifest.json']) {
        const head = await s3.send(
          new HeadObjectCommand({ Bucket: bucket, Key: `backups/sqlite-shop/20261129T030000Z/${name}` }),
        );
        expect(head.ServerSideEncryption, name).toBe('aws:kms');
        expect(head.SSEKMSKeyId, name).toContain('dbops-local-key');
      }
    } finally {
      s3.destroy();
    }
  });

  it('applies the nightly Schedule idempotently, and a triggered run names its backups after the scheduled time', async () => {
    const base = testConfig(t.taskQueue, env);
    const config = {
      ...base,
      schedules: { nightlyBackup: { ...base.schedules.nightlyBackup, targets: [sqlitePath], at: '02:30' } },
    };
    expect((await applyNightlySchedule(t.client, config)).action).toBe('created');
    expect((await applyNightlySchedule(t.client, config)).action).toBe('unchanged');
    const handle = t.client.schedule.getHandle(NIGHTLY_SCHEDULE_ID);
    const described = await handle.describe();
    expect(described.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 2, end: 2, step: 1 }] });
    expect(described.policies.overlap).toBe('SKIP');
    expect(described.action.args).toEqual([{ targets: [sqlitePath] }]);
    // What the Web UI shows for each scheduled run.
    expect(described.action.staticSummary).toBe(
      `nightly backup: 1 target(s) at 02:30 ${base.schedules.nightlyBackup.timeZone}`,
    );

    // The triggered run announces itself when its first activity reaches this test's worker.
    let announce: (workflowId: string) => void = () => undefined;
    const started = new Promise<string>((resolve) => (announce = resolve));
    const firstActivity = (ctx: Context): { inbound: ActivityInboundCallsInterceptor } => ({
      inbound: {
        execute: (input, next) => {
          announce(ctx.info.workflowExecution?.workflowId ?? '');
          return next(input);
        },
      },
    });
    const result = await t.withWorker(
      async () => {
        await handle.trigger();
        const workflowId = await started;
        t.own(workflowId);
        const value = (await t.client.workflow.getHandle(workflowId).result()) as NightlyBackupResult;
        const action = (await handle.describe()).info.recentActions.find(
          (a) => a.action.workflow.workflowId === workflowId,
        );
        return { value, scheduledAt: action?.scheduledAt ?? new Date(0) };
      },
      env,
      { interceptors: { activity: [firstActivity] } },
    );
    const stamp = result.scheduledAt
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    expect(result.value.timestamp).toBe(stamp);
    expect(result.value.backups[0]?.backupId).toBe(`sqlite-shop/${stamp}`);
  });
});
