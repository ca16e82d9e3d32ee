/**
 * The Web UI's timeline reads like a step list: every activity of a real nightly backup (and its
 * `backupDatabase` child) and of a real assessment carries a one-line summary of what it does, read back
 * from the runs' histories (user metadata); and their `progress` answers with one item per target (steps
 * done of its steps, and its state). A PostgreSQL database, a bucket and the mail the night sends are the
 * test's own and removed at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, ensureBucket } from '../../activities/s3/client';
import type { Progress } from '../../common/progress';
import { dropBucket } from '../support/backup';
import { mailpit } from '../support/mailpit';
import { TestDatabase } from '../support/migration';
import { testConfig, TestTemporal, uniqueName } from '../support/temporal';

/** The summaries of a history's events, in order. */
function summaries(events: temporal.api.history.v1.IHistoryEvent[]): string[] {
  return events
    .map((e) => e.userMetadata?.summary?.data)
    .filter((data): data is Uint8Array => data instanceof Uint8Array)
    .map((data) => JSON.parse(Buffer.from(data).toString('utf8')) as string);
}

describe('step summaries and per-target progress', () => {
  let t: TestTemporal;
  const pg = new TestDatabase();
  const bucket = uniqueName('dbops-sum');
  const dir = mkdtempSync(join(tmpdir(), 'dbops-summaries-'));
  const mails: string[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    t = await TestTemporal.connect();
    await pg.create();
    await pg.query(`CREATE TABLE users (id int PRIMARY KEY, name text);
      INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 300) g; ANALYZE;`);
    env = { DBOPS_ARTIFACT_DIR: join(dir, 'artifacts'), DBOPS_S3_BUCKET: bucket, DBOPS_CONNECTION_S_PG: pg.url };
    const s3 = createS3Client(testConfig(t.taskQueue, env).s3);
    await ensureBucket(s3, bucket);
    s3.destroy();
  });

  afterAll(async () => {
    await t?.cleanup();
    const s3 = createS3Client(testConfig('x', env).s3);
    await dropBucket(s3, bucket);
    s3.destroy();
    await mailpit.delete(mails);
    await pg.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a nightly backup: each step says what it does, and the progress has a line per target', async () => {
    // A night of the test's own (a random second of 2002), so its notification can be found and deleted.
    const timestamp = new Date(Date.UTC(2002, 0, 1) + Math.floor(Math.random() * 365 * 86_400) * 1000)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const id = t.workflowId('summaries-nightly');
    const backupId = `s_pg/${timestamp}`;
    const { progress, childProgress } = await t.withWorker(async () => {
      await t.client.workflow.execute('nightlyBackup', {
        taskQueue: t.taskQueue,
        workflowId: id,
        args: [{ targets: ['s_pg'], timestamp }],
      });
      return {
        progress: await t.client.workflow.getHandle(id).query<Progress>('progress'),
        childProgress: await t.client.workflow.getHandle(`backup-s_pg-${timestamp}`).query<Progress>('progress'),
      };
    }, env);
    t.own(`backup-s_pg-${timestamp}`);
    mails.push(...(await mailpit.search(`subject:"dbops backup ${timestamp}"`)).map((m) => m.ID));

    const night = summaries((await t.client.workflow.getHandle(id).fetchHistory()).events ?? []);
    expect(night).toEqual([
      'settings and targets: s_pg',
      'backup s_pg (postgres)',
      'retention: s_pg, local and S3 copies',
      'notify email',
    ]);
    const child = summaries(
      (await t.client.workflow.getHandle(`backup-s_pg-${timestamp}`).fetchHistory()).events ?? [],
    );
    // The child's own page carries the summary its parent gave it, then one per step.
    expect(child).toHaveLength(7);
    expect(child[0]).toBe('backup s_pg (postgres)');
    expect(child[1]).toBe('settings and target s_pg');
    expect(child[2]).toBe(`check ${backupId} is not already committed, and the bucket`);
    expect(child[3]).toBe('pg_dump s_pg: custom, plain, schema + globals');
    expect(child[4]).toMatch(
      new RegExp(
        `^upload (dump\\.pgcustom|dump\\.sql\\.gz|globals\\.sql|schema\\.sql)(, \\S+){3} of ${backupId} to S3$`,
      ),
    );
    expect(child[5]).toBe(`write the manifest of ${backupId} (last: it commits the backup)`);
    expect(child[6]).toBe(`verify ${backupId} by restoring into a scratch database`);

    expect(progress).toMatchObject({ phase: 'completed', done: 1, total: 1, unit: 'steps' });
    expect(progress.items).toEqual([{ name: 's_pg', done: 5, total: 5, unit: 'steps', state: 'verified (restore)' }]);
    expect(childProgress.phase).toBe('completed');
    expect(childProgress.items).toEqual([
      { name: 's_pg', done: 5, total: 5, unit: 'steps', state: 'verified (restore)' },
    ]);
  });

  it('an assessment: each step names the engine, the database and the step; the progress a line per database', async () => {
    const id = t.workflowId('summaries-assess');
    const progress = await t.withWorker(async () => {
      await t.client.workflow.execute('assessEstate', {
        taskQueue: t.taskQueue,
        workflowId: id,
        args: [{ targets: ['s_pg'], backup: false, windowSeconds: 1, probeRuns: 2 }],
      });
      return t.client.workflow.getHandle(id).query<Progress>('progress');
    }, env);

    const said = summaries((await t.client.workflow.getHandle(id).fetchHistory()).events ?? []);
    expect(said).toEqual([
      'resolve s_pg',
      'assess postgres s_pg: health and volume',
      'assess postgres s_pg: usage sample 1 of 2',
      'assess postgres s_pg: usage sample 2 of 2',
      'assess postgres s_pg: query patterns',
      'assess postgres s_pg: baseline, top live statements and default probes × 2',
      'write the reports and upload them',
    ]);
    expect(progress.phase).toBe('completed');
    expect(progress.items).toEqual([{ name: 's_pg', done: 4, total: 4, unit: 'steps', state: 'assessed' }]);
  });
});
