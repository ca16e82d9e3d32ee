/**
 * A worker killed with SIGKILL in the middle of the import, then restarted: the run completes, and the
 * content check proves no row was duplicated or lost (chunks are idempotent through the ledger).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Progress } from '../../common/progress';
import { createHelloAgentsDb } from '../../scripts/sample/helloagents';
import { PATHS } from '../../scripts/stack/paths';
import type { MigrationResult } from '../../common/contracts/migration';
import { startMigration, TestDatabase } from '../support/migration';
import { TestTemporal, testEnv } from '../support/temporal';

describe('migration survives a worker killed during import', () => {
  let t: TestTemporal;
  let db: TestDatabase;
  const workers: ChildProcess[] = [];

  const startWorker = (): ChildProcess => {
    const child = spawn(process.execPath, [join(PATHS.root, 'dist', 'workers', 'main.js')], {
      cwd: PATHS.root,
      env: {
        ...process.env,
        ...testEnv(t.taskQueue, { DBOPS_ARTIFACT_DIR: join(db.dir, 'artifacts'), DBOPS_LOG_LEVEL: 'WARN' }),
      },
      stdio: 'ignore',
    });
    workers.push(child);
    return child;
  };

  /** COPYs into `schema`'s staging schema running for more than `ms`; with `terminate`, their backends are killed. */
  const activeCopies = async (schema: string, ms: number, { terminate = false } = {}): Promise<number> => {
    const [row] = await db.query<{ n: number }>(
      `SELECT count(${terminate ? 'pg_terminate_backend(pid)' : '*'})::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND query LIKE $1
         AND state = 'active' AND now() - query_start > $2 * interval '1 millisecond'`,
      [`COPY %${schema}__dbops_stage_%`, ms],
    );
    return row?.n ?? 0;
  };

  /** Completed, and every table has exactly the source's rows, verified by content. */
  const expectEveryRowOnce = (result: MigrationResult, counts: Record<string, number>): void => {
    expect(result.status).toBe('completed');
    expect(result.tables.map((x) => [x.name, x.rowsSource, x.rowsTarget, x.match])).toEqual(
      Object.entries(counts)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, n]) => [name, n, n, true]),
    );
  };

  beforeAll(async () => {
    t = await TestTemporal.connect();
    db = await new TestDatabase().create();
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await t.cleanup();
    await db.drop();
  });

  it(
    'SIGKILL mid-import, restart: completed, every table verified, no duplicate or missing row',
    { timeout: 180_000 },
    async () => {
      const source = join(db.dir, 'big.db');
      const counts = createHelloAgentsDb(source, { users: 6_000 });
      const first = startWorker();
      const handle = await startMigration(t, {
        source,
        target: db.url,
        schema: 'crash',
        rollbackWindowMinutes: 0,
        chunkRows: 150_000, // chat_messages is one 120k-row chunk (~1 s)
        concurrency: 2,
      });

      // Kill while a chunk is in the middle of its COPY: PostgreSQL shows the COPY into the staging schema
      // active for a moment already, with most of the chunk's ~1 s of copying still ahead.
      await expect
        .poll(
          async () => {
            return (await activeCopies('crash', 100)) > 0;
          },
          { timeout: 60_000, interval: 10 },
        )
        .toBe(true);
      expect((await handle.query<Progress>('progress')).phase).toBe('import');
      first.kill('SIGKILL');
      await once(first, 'exit');

      startWorker();
      const result = (await handle.result()) as MigrationResult;
      expectEveryRowOnce(result, counts);
      const [dups] = await db.query<{ n: string }>(
        'SELECT count(*) - count(DISTINCT id) AS n FROM crash.chat_messages',
      );
      expect(dups?.n).toBe('0');
      // The import retried at least one chunk after the kill: the history shows a failed/timed-out attempt.
      const history = await handle.fetchHistory();
      const timedOut = history.events?.filter((e) => e.activityTaskTimedOutEventAttributes).length ?? 0;
      const retried = history.events?.some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) ?? false;
      expect(timedOut > 0 || retried).toBe(true);
    },
  );

  it(
    'the target connection killed mid-COPY (pg_terminate_backend): the chunk is retried, no duplicate or missing row',
    { timeout: 180_000 },
    async () => {
      const source = join(db.dir, 'dropped.db');
      const counts = createHelloAgentsDb(source, { users: 3_000 });
      startWorker();
      const handle = await startMigration(t, {
        source,
        target: db.url,
        schema: 'dropped',
        rollbackWindowMinutes: 0,
        chunkRows: 60_000,
        concurrency: 1,
      });
      // A COPY into the staging schema that has been running for a moment: kill its server process.
      let killed = 0;
      await expect
        .poll(
          async () => {
            killed += await activeCopies('dropped', 50, { terminate: true });
            return killed;
          },
          { timeout: 60_000, interval: 20 },
        )
        .toBeGreaterThan(0);
      const result = (await handle.result()) as MigrationResult;
      expectEveryRowOnce(result, counts);
      const history = await handle.fetchHistory();
      const retried = history.events?.some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
      expect(retried).toBe(true);
    },
  );

  it(
    'a rollback signal during import cancels the running chunks and drops staging: the target is as before',
    { timeout: 120_000 },
    async () => {
      const source = join(db.dir, 'rollback.db');
      createHelloAgentsDb(source, { users: 3_000 });
      await db.query("CREATE SCHEMA during; CREATE TABLE during.t (v text); INSERT INTO during.t VALUES ('before')");
      startWorker();
      const handle = await startMigration(t, {
        source,
        target: db.url,
        schema: 'during',
        replaceSchema: true,
        chunkRows: 2_000,
        concurrency: 2,
      });
      await expect
        .poll(async () => (await handle.query<Progress>('progress')).done ?? 0, { timeout: 60_000, interval: 20 })
        .toBeGreaterThan(0);
      expect((await handle.query<Progress>('progress')).phase).toBe('import');
      await handle.signal('rollback', { reason: 'stop the import' });
      const result = (await handle.result()) as MigrationResult;
      expect(result).toMatchObject({ status: 'rolled_back', rollbackReason: 'stop the import' });
      expect((await db.schemas()).filter((x) => x.startsWith('during'))).toEqual(['during']);
      expect(await db.query('SELECT v FROM during.t')).toEqual([{ v: 'before' }]);
    },
  );
});
