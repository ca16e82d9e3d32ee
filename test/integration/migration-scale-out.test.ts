/**
 * Scale-out: one migration executed by two worker processes with distinct host ids (as if on two machines:
 * each its own artifact folder and source cache). The source host stages its backup in MinIO; the other
 * worker fetches it once into its cache and imports chunks from it. SIGKILL of the other worker while it has
 * a chunk in flight: the source host finishes, every table verified by content, every row exactly once.
 * Also the fetch cache on its own: one download for concurrent callers, and a hash mismatch named.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sha256File } from '../../activities/files/sha256';
import { STAGING_PREFIX } from '../../activities/migration/source-staging';
import { ObjectCache } from '../../activities/s3/cache';
import { createS3Client } from '../../activities/s3/client';
import { deleteKey, headObject, listKeys } from '../../activities/s3/objects';
import { uploadFile } from '../../activities/s3/transfer';
import type { MigrationResult } from '../../common/contracts/migration';
import { DbopsError, ErrorCode } from '../../common/errors';
import { createHelloAgentsDb } from '../../scripts/sample/helloagents';
import { PATHS } from '../../scripts/stack/paths';
import { startMigration, TestDatabase } from '../support/migration';
import { testConfig, TestTemporal, testEnv, uniqueName } from '../support/temporal';

const { PendingActivityState, TaskQueueType } = temporal.api.enums.v1;

describe('scale-out: one migration on two worker processes', () => {
  let t: TestTemporal;
  let db: TestDatabase;
  let s3: S3Client;
  const bucket = testConfig('unused').s3.bucket;
  const workers = new Map<string, ChildProcess>();
  const stagedKeys: string[] = [];

  /** A worker process as if on its own machine: host id, artifact folder, cache, two activity slots per queue. */
  const startWorker = (host: string): ChildProcess => {
    const child = spawn(process.execPath, [join(PATHS.root, 'dist', 'workers', 'main.js')], {
      cwd: PATHS.root,
      env: {
        ...process.env,
        ...testEnv(t.taskQueue, {
          DBOPS_WORKER_HOST: host,
          DBOPS_ARTIFACT_DIR: join(db.dir, `artifacts-${host}`),
          DBOPS_WORKER_CACHE_DIR: join(db.dir, `cache-${host}`),
          DBOPS_WORKER_MAX_CONCURRENT_ACTIVITIES: '2',
          DBOPS_LOG_LEVEL: 'WARN',
        }),
      },
      stdio: 'ignore',
    });
    workers.set(host, child);
    return child;
  };

  /** The identities polling a task queue (activity tasks). */
  const pollers = async (queue: string): Promise<string[]> => {
    const { pollers: list } = await t.client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: queue },
      taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    return (list ?? []).map((p) => p.identity ?? '');
  };

  beforeAll(async () => {
    t = await TestTemporal.connect();
    db = await new TestDatabase().create();
    s3 = createS3Client(testConfig(t.taskQueue).s3);
  });
  afterAll(async () => {
    for (const w of workers.values()) if (w.exitCode === null) w.kill('SIGKILL');
    await t.cleanup();
    for (const key of stagedKeys) await deleteKey(s3, bucket, key);
    s3.destroy();
    await db.drop();
  });

  it(
    'chunks run on both workers; the other host fetches the staged backup once; SIGKILL of it mid-chunk: the source host finishes, every row once',
    { timeout: 240_000 },
    async () => {
      const source = join(db.dir, 'scale.db');
      const counts = createHelloAgentsDb(source, { users: 16_000 });
      const sha = await sha256File(source); // a rollback-journal file: its backup is byte-identical
      stagedKeys.push(`${STAGING_PREFIX}/${sha}.db`);
      const processes = { a: startWorker('host-a'), b: startWorker('host-b') };
      const identity = (host: 'a' | 'b') => `${processes[host].pid}@host-${host}`;
      // Both processes poll the shared queue, each its own host queue.
      await expect
        .poll(async () => (await pollers(t.taskQueue)).sort(), { timeout: 60_000, interval: 100 })
        .toEqual([identity('a'), identity('b')].sort());
      for (const host of ['a', 'b'] as const)
        await expect
          .poll(() => pollers(`${t.taskQueue}@host-${host}`), { timeout: 60_000, interval: 100 })
          .toEqual([identity(host)]);

      const handle = await startMigration(
        t,
        {
          source,
          target: db.url,
          schema: 'scaled',
          rollbackWindowMinutes: 0,
          // 26 chunks of ~0.2 s; two slots per worker, four lanes: both must take chunks. Until the backup is
          // staged, chunks run on the source host; the rest on both.
          chunkRows: 25_000,
          concurrency: 4,
        },
        'scale-out',
      );

      // The host that resolved the source ran its backup on its host queue; the other one is "remote".
      let sourceHost: 'a' | 'b' | undefined;
      await expect
        .poll(
          async () => {
            const history = await handle.fetchHistory();
            const backup = history.events?.find(
              (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'migrationBackup',
            );
            const queue = backup?.activityTaskScheduledEventAttributes?.taskQueue?.name ?? '';
            sourceHost = queue === `${t.taskQueue}@host-a` ? 'a' : queue === `${t.taskQueue}@host-b` ? 'b' : undefined;
            return sourceHost;
          },
          { timeout: 60_000, interval: 50 },
        )
        .toBeDefined();
      const local = sourceHost as 'a' | 'b';
      const remote = local === 'a' ? 'b' : 'a';

      /** Chunk attempts that completed, by the identity that ran them (history: started events are written at the close). */
      const completedChunksBy = async (): Promise<Map<string, number>> => {
        const events = (await handle.fetchHistory()).events ?? [];
        const chunks = new Set(
          events
            .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'migrationImportChunk')
            .map((e) => String(e.eventId)),
        );
        const started = new Map(
          events
            .filter((e) => e.activityTaskStartedEventAttributes)
            .map((e) => [String(e.eventId), e.activityTaskStartedEventAttributes]),
        );
        const by = new Map<string, number>();
        for (const e of events) {
          const done = e.activityTaskCompletedEventAttributes;
          if (!done || !chunks.has(String(done.scheduledEventId))) continue;
          const who = started.get(String(done.startedEventId))?.identity ?? '?';
          by.set(who, (by.get(who) ?? 0) + 1);
        }
        return by;
      };
      /**
       * The import chunk the remote worker is running now, if any (describe: pending activities, the worker
       * of their last attempt), with how long ago that attempt started.
       */
      const remoteChunk = async (): Promise<{ id: string; sinceMs: number } | undefined> => {
        const { raw } = await handle.describe();
        const pending = (raw.pendingActivities ?? []).find(
          (p) =>
            p.activityType?.name === 'migrationImportChunk' &&
            p.state === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED &&
            p.lastWorkerIdentity === identity(remote),
        );
        if (!pending?.activityId) return undefined;
        const started = pending.lastStartedTime;
        const startedMs = Number(started?.seconds?.toString() ?? 0) * 1000 + (started?.nanos ?? 0) / 1e6;
        return { id: pending.activityId, sinceMs: Date.now() - startedMs };
      };

      // Kill the remote worker once it has imported a chunk (so it fetched the staged backup) and has just
      // started another one (~0.2 s of work ahead of it).
      let remoteImported = false;
      let inFlight: string | undefined;
      await expect
        .poll(
          async () => {
            remoteImported ||= ((await completedChunksBy()).get(identity(remote)) ?? 0) > 0;
            const chunk = remoteImported ? await remoteChunk() : undefined;
            inFlight = chunk && chunk.sinceMs < 80 ? chunk.id : undefined;
            return inFlight !== undefined;
          },
          { timeout: 90_000, interval: 10 },
        )
        .toBe(true);
      processes[remote].kill('SIGKILL');
      await once(processes[remote], 'exit');
      // It died with that chunk unfinished: the server still holds the attempt as started by it.
      expect((await remoteChunk())?.id).toBe(inFlight);

      // The remote host fetched the staged backup into its cache, once, intact; the source host read its own file.
      const remoteCache = join(db.dir, `cache-host-${remote}`, 'sqlite');
      expect(readdirSync(remoteCache)).toEqual([`${sha}.db`]);
      expect(await sha256File(join(remoteCache, `${sha}.db`))).toBe(sha);
      expect(existsSync(join(db.dir, `cache-host-${local}`, 'sqlite'))).toBe(false);

      const result = (await handle.result()) as MigrationResult;
      expect(result.status).toBe('completed');
      expect(result.tables.map((x) => [x.name, x.rowsSource, x.rowsTarget, x.match])).toEqual(
        Object.entries(counts)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, n]) => [name, n, n, true]),
      );
      const [dups] = await db.query<{ n: string }>(
        'SELECT count(*) - count(DISTINCT id) AS n FROM scaled.chat_messages',
      );
      expect(dups?.n).toBe('0');

      // Both identities completed chunks; the killed chunk was retried (timed out, then another attempt).
      const by = await completedChunksBy();
      expect(by.get(identity('a'))).toBeGreaterThan(0);
      expect(by.get(identity('b'))).toBeGreaterThan(0);
      const history = await handle.fetchHistory();
      const timedOut = history.events?.filter((e) => e.activityTaskTimedOutEventAttributes).length ?? 0;
      const retried = history.events?.some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) ?? false;
      expect(timedOut > 0 || retried).toBe(true);
      // The routing (host queue until staged, then any worker) replays from the history it recorded.
      await expect(
        Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history),
      ).resolves.toBeUndefined();
      // The run's end removed the staged object and its marker.
      expect(await headObject(s3, bucket, `${STAGING_PREFIX}/${sha}.db`)).toBeNull();
      expect(await listKeys(s3, bucket, `${STAGING_PREFIX}/${sha}.runs/`)).toEqual([]);
    },
  );
});

describe('the staged-source fetch cache', () => {
  let s3: S3Client;
  let dir: string;
  const config = testConfig('unused');
  const keys: string[] = [];

  /** Uploads random bytes under a test-owned key; returns the key and the bytes' sha256. */
  const stage = async (name: string, size = 3 * 1024 * 1024): Promise<{ key: string; sha: string }> => {
    const path = join(dir, `${name}.src`);
    writeFileSync(path, randomBytes(size));
    const key = `test-cache/${uniqueName(name)}.db`;
    keys.push(key);
    const { sha256 } = await uploadFile(s3, config.s3.bucket, key, path);
    return { key, sha: sha256 };
  };

  beforeAll(() => {
    s3 = createS3Client(config.s3);
    dir = mkdtempSync(join(tmpdir(), 'dbops-cache-'));
  });
  afterAll(async () => {
    for (const key of keys) await deleteKey(s3, config.s3.bucket, key);
    s3.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('eight concurrent callers download once; a new cache on the same folder reuses the copy', async () => {
    const { key, sha } = await stage('once');
    const cache = new ObjectCache(join(dir, 'cache'), () => s3, config.s3.bucket);
    const paths = await Promise.all(Array.from({ length: 8 }, () => cache.get(key, sha, { suffix: '.db' })));
    expect(new Set(paths)).toEqual(new Set([join(dir, 'cache', `${sha}.db`)]));
    expect(cache.downloads).toBe(1);
    expect(await sha256File(paths[0] ?? '')).toBe(sha);
    await cache.get(key, sha, { suffix: '.db' });
    expect(cache.downloads).toBe(1);
    const restarted = new ObjectCache(join(dir, 'cache'), () => s3, config.s3.bucket);
    expect(await restarted.get(key, sha, { suffix: '.db' })).toBe(paths[0]);
    expect(restarted.downloads).toBe(0);
    expect(readdirSync(join(dir, 'cache'))).toEqual([`${sha}.db`]); // no temporary file left
  });

  it('bytes that do not hash to the expected sha256: a checksum error naming the key and the fix, nothing cached', async () => {
    const { key } = await stage('corrupt', 4096);
    const wrong = 'f'.repeat(64);
    const cache = new ObjectCache(join(dir, 'bad'), () => s3, config.s3.bucket);
    const err = (await cache
      .get(key, wrong, { fix: 'delete the object and stage it again' })
      .catch((e: unknown) => e)) as DbopsError;
    expect(err).toBeInstanceOf(DbopsError);
    expect(err.code).toBe(ErrorCode.ChecksumMismatch);
    expect(err.message).toContain(`s3://${config.s3.bucket}/${key}`);
    expect(err.message).toContain(`expected ${wrong}`);
    expect(err.message).toContain('delete the object and stage it again');
    expect(readdirSync(join(dir, 'bad'))).toEqual([]);
  });

  it('a missing object is an error naming it; prune removes copies unused for the given days only', async () => {
    const cache = new ObjectCache(join(dir, 'prune'), () => s3, config.s3.bucket);
    await expect(cache.get(`test-cache/${uniqueName('missing')}.db`, 'a'.repeat(64))).rejects.toThrow(
      /s3:\/\/.*test-cache\/missing-.*\.db does not exist/,
    );
    const { key, sha } = await stage('prune', 1024);
    const path = await cache.get(key, sha);
    expect(await cache.prune(7)).toEqual([]);
    const old = new Date(Date.now() - 8 * 86_400_000);
    utimesSync(path, old, old);
    writeFileSync(join(dir, 'prune', 'not-ours.txt'), 'kept');
    utimesSync(join(dir, 'prune', 'not-ours.txt'), old, old);
    expect(await cache.prune(7)).toEqual([sha]);
    expect(readdirSync(join(dir, 'prune'))).toEqual(['not-ours.txt']);
  });
});
