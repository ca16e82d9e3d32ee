/**
 * Rollback by signal at every phase before cutover. An activity interceptor holds the run right after the
 * phase's step has done its real work (the staging schema created, a chunk committed, an index built…),
 * heartbeating until the rollback cancels it; then the compensations must leave the target exactly as it
 * was: same schema, same rows, no staging schema, and the source file unchanged.
 */
import { join } from 'node:path';
import type { Context } from '@temporalio/activity';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Progress } from '../../common/progress';
import { createHelloAgentsDb } from '../../scripts/sample/helloagents';
import { sha256File } from '../../activities/files/sha256';
import type { MigrationResult } from '../../common/contracts/migration';
import { startMigration, TestDatabase } from '../support/migration';
import { TestTemporal } from '../support/temporal';

/** Holds the first run of one activity type after it completed its work, until the activity is cancelled. */
class Hold {
  reached = false;
  constructor(readonly activityType: string) {}

  interceptor = (ctx: Context): { inbound: ActivityInboundCallsInterceptor } => ({
    inbound: {
      execute: async (input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) => {
        const output: unknown = await next(input);
        if (ctx.info.activityType !== this.activityType || this.reached) return output;
        this.reached = true;
        // Heartbeats carry the cancellation to the activity; `cancelled` rejects when the rollback arrives.
        const beat = setInterval(() => ctx.heartbeat({ held: this.activityType }), 100);
        try {
          return await ctx.cancelled;
        } finally {
          clearInterval(beat);
        }
      },
    },
  });
}

describe('rollback by signal at each phase leaves the target as it was', () => {
  let t: TestTemporal;
  let db: TestDatabase;
  let source: string;

  beforeAll(async () => {
    t = await TestTemporal.connect();
    db = await new TestDatabase().create();
    source = join(db.dir, 'app.db');
    createHelloAgentsDb(source, { users: 40 });
  });
  afterAll(async () => {
    await t.cleanup();
    await db.drop();
  });

  it.each([
    ['backup', 'migrationBackup'],
    ['export', 'migrationExport'],
    ['create_schema', 'migrationPrepare'],
    ['import', 'migrationImportChunk'],
    ['index', 'migrationBuildTable'],
    ['verify', 'migrationVerifyTable'],
  ])('rollback during %s (held after %s did its work)', { timeout: 90_000 }, async (phase, activityType) => {
    const schema = `held_${phase}`;
    await db.query(
      `CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.users (id int PRIMARY KEY, name text); INSERT INTO ${schema}.users VALUES (1, 'kept')`,
    );
    const shaBefore = await sha256File(source);
    const hold = new Hold(activityType);
    const result = await t.withWorker(
      async () => {
        const handle = await startMigration(t, { source, target: db.url, schema, chunkRows: 100, concurrency: 1 });
        await expect.poll(() => hold.reached, { timeout: 60_000, interval: 50 }).toBe(true);
        expect((await handle.query<Progress>('progress')).phase).toBe(phase);
        await handle.signal('rollback', { reason: `test at ${phase}` });
        return (await handle.result()) as MigrationResult;
      },
      { DBOPS_ARTIFACT_DIR: join(db.dir, 'artifacts') },
      {
        interceptors: { activity: [hold.interceptor] },
        defaultHeartbeatThrottleInterval: '100ms',
        maxHeartbeatThrottleInterval: '100ms',
      },
    );
    expect(result).toMatchObject({ status: 'rolled_back', rollbackReason: `test at ${phase}` });
    expect((await db.schemas()).filter((s) => s.startsWith(schema))).toEqual([schema]);
    expect(await db.query(`SELECT * FROM ${schema}.users`)).toEqual([{ id: 1, name: 'kept' }]);
    expect(await db.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = '${schema}'`)).toEqual(
      [{ table_name: 'users' }],
    );
    expect(await sha256File(source)).toBe(shaBefore);
  });
});
