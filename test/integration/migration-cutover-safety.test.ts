/**
 * What a migration must never destroy, on real servers: a finalized cutover is never undone (a later
 * failure only fails forward); a rollback inside the window keeps the migrated schema aside instead of
 * dropping rows the application wrote; a compensation that fails is reported as an incomplete rollback
 * with the SQL to finish; a target schema holding objects the run does not replace is refused before
 * anything is touched, and owner and grants survive a swap; signals that come too early or too late are
 * reported, not acted on.
 */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationResult } from '../../common/contracts/migration';
import type { Progress } from '../../common/progress';
import { summarizeFailure } from '../../scripts/cli/output';
import { SERVERS, withPg } from '../support/servers';
import { startMigration, TestDatabase } from '../support/migration';
import { TestTemporal, uniqueName } from '../support/temporal';

/** Holds the first run of one activity type before it starts, until `release()`. */
class Gate {
  reached = false;
  private open!: () => void;
  private readonly opened = new Promise<void>((resolve) => (this.open = resolve));
  constructor(readonly activityType: string) {}

  release(): void {
    this.open();
  }

  interceptor = (ctx: Context): { inbound: ActivityInboundCallsInterceptor } => ({
    inbound: {
      execute: async (input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) => {
        if (ctx.info.activityType === this.activityType && !this.reached) {
          this.reached = true;
          await this.opened;
        }
        return next(input);
      },
    },
  });
}

const NOTES = `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
INSERT INTO notes (body) VALUES ('one'), ('two'), ('three');`;

describe('migration: what survives cutover, rollback and failure', () => {
  let t: TestTemporal;
  let db: TestDatabase;
  const roles = [uniqueName('dbops_owner').replace(/-/g, '_'), uniqueName('dbops_reader').replace(/-/g, '_')];
  const [owner, reader] = roles as [string, string];

  beforeAll(async () => {
    t = await TestTemporal.connect();
    db = await new TestDatabase().create();
    for (const role of roles) await withPg(SERVERS.postgres, (c) => c.query(`CREATE ROLE ${role}`));
  });
  afterAll(async () => {
    await t.cleanup();
    await db.drop();
    for (const role of roles) await withPg(SERVERS.postgres, (c) => c.query(`DROP ROLE IF EXISTS ${role}`));
  });

  const worker = <T>(body: () => Promise<T>, gate?: Gate) =>
    t.withWorker(
      body,
      { DBOPS_ARTIFACT_DIR: join(db.dir, 'artifacts') },
      gate ? { interceptors: { activity: [gate.interceptor] } } : undefined,
    );
  const phaseOf = (handle: { query: <R>(name: string) => Promise<R> }) =>
    handle.query<Progress>('progress').then((p) => p.phase);
  const runKey = (runId: string) => runId.replace(/-/g, '').slice(-8);

  it('a finalized cutover is never undone: with the source gone, the run fails forward and the app’s row survives', async () => {
    const source = db.sqliteFixture('moves.db', NOTES);
    const handle = await startMigration(t, { source, target: db.url, schema: 'live', rollbackWindowMinutes: 30 });
    const error = await worker(async () => {
      await expect.poll(() => phaseOf(handle), { timeout: 45_000, interval: 100 }).toBe('awaiting_finalize');
      await db.query("INSERT INTO live.notes (id, body) VALUES (100, 'written by the app')");
      renameSync(source, `${source}.moved`);
      await handle.signal('finalize');
      return handle.result().catch((err: unknown) => err);
    });
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const failure = summarizeFailure(error);
    expect(failure.type).toBe('DBOPS_FINALIZE_INCOMPLETE');
    expect(failure.message).toContain('the migration is complete and live in schema "live" (nothing was undone)');
    expect(failure.message).toContain(`check that the source ${source} is unchanged`);
    expect(await db.query('SELECT id, body FROM live.notes ORDER BY id')).toEqual([
      { id: '1', body: 'one' },
      { id: '2', body: 'two' },
      { id: '3', body: 'three' },
      { id: '100', body: 'written by the app' },
    ]);
    expect((await db.schemas()).filter((s) => s.startsWith('live'))).toEqual(['live']);
  });

  it('a rollback inside the window with no previous schema keeps the migrated schema, and the app’s rows, aside', async () => {
    const source = db.sqliteFixture('fresh.db', NOTES);
    const handle = await startMigration(t, { source, target: db.url, schema: 'fresh', rollbackWindowMinutes: 30 });
    const result = (await worker(async () => {
      await expect.poll(() => phaseOf(handle), { timeout: 45_000, interval: 100 }).toBe('awaiting_finalize');
      await db.query("INSERT INTO fresh.notes (id, body) VALUES (100, 'written by the app')");
      await handle.signal('rollback', { reason: 'app errors' });
      return handle.result();
    })) as MigrationResult;
    const keptAs = `fresh__dbops_rolled_back_${runKey(handle.firstExecutionRunId)}`;
    expect(result).toMatchObject({ status: 'rolled_back', rolledBackSchema: keptAs, rollbackReason: 'app errors' });
    expect((await db.schemas()).filter((s) => s.startsWith('fresh'))).toEqual([keptAs]);
    const [kept] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${keptAs}.notes`);
    expect(kept?.n).toBe('4');
  });

  it('a compensation that fails ends as DBOPS_ROLLBACK_INCOMPLETE with the SQL to finish, and loses nothing', async () => {
    const source = db.sqliteFixture('clash.db', NOTES);
    const handle = await startMigration(t, { source, target: db.url, schema: 'clash', rollbackWindowMinutes: 30 });
    const keptAs = `clash__dbops_rolled_back_${runKey(handle.firstExecutionRunId)}`;
    const error = await worker(async () => {
      await expect.poll(() => phaseOf(handle), { timeout: 45_000, interval: 100 }).toBe('awaiting_finalize');
      await db.query(`CREATE SCHEMA ${keptAs}`); // the name the revert needs is taken
      await handle.signal('rollback');
      const failed = await handle.result().catch((err: unknown) => err);
      expect(await phaseOf(handle)).toBe('rollback_incomplete');
      return failed;
    });
    const failure = summarizeFailure(error);
    expect(failure.type).toBe('DBOPS_ROLLBACK_INCOMPLETE');
    expect(failure.message).toContain('the rollback is incomplete, left to do by hand');
    expect(failure.message).toContain(`schema "${keptAs}" already exists`);
    expect(failure.message).toContain(`ALTER SCHEMA "clash" RENAME TO "${keptAs}";`);
    const [live] = await db.query<{ n: string }>('SELECT count(*) AS n FROM clash.notes');
    expect(live?.n).toBe('3');
  });

  it('a schema holding objects the run does not replace is refused before anything is touched; its grant survives', async () => {
    await db.query(
      `CREATE TABLE public.unrelated (id int); INSERT INTO public.unrelated VALUES (1); GRANT USAGE ON SCHEMA public TO ${reader}`,
    );
    const source = db.sqliteFixture('shared.db', NOTES);
    const before = await db.schemas();
    const error = await worker(() =>
      startMigration(t, { source, target: db.url, schema: 'public' }).then((h) =>
        h.result().catch((err: unknown) => err),
      ),
    );
    const failure = summarizeFailure(error);
    expect(failure.type).toBe('DBOPS_BAD_INPUT');
    expect(failure.message).toContain(
      'schema "public" holds objects this migration does not replace (table unrelated)',
    );
    expect(failure.message).toContain('--replace-schema');
    expect(await db.schemas()).toEqual(before);
    expect(await db.query('SELECT id FROM public.unrelated')).toEqual([{ id: 1 }]);
    expect(await db.query(`SELECT has_schema_privilege('${reader}', 'public', 'USAGE') AS ok`)).toEqual([{ ok: true }]);
    await db.query(`DROP TABLE public.unrelated; REVOKE USAGE ON SCHEMA public FROM ${reader}`);
  });

  it('a swap keeps the schema’s owner and grants and each replaced table’s owner and grants', async () => {
    await db.query(
      `CREATE SCHEMA app AUTHORIZATION ${owner}; COMMENT ON SCHEMA app IS 'the app';
       CREATE TABLE app.notes (id int); ALTER TABLE app.notes OWNER TO ${owner};
       GRANT USAGE ON SCHEMA app TO ${reader}; GRANT SELECT ON app.notes TO ${reader}`,
    );
    const source = db.sqliteFixture('swap.db', NOTES);
    const result = (await worker(() =>
      startMigration(t, { source, target: db.url, schema: 'app', rollbackWindowMinutes: 0 }).then((h) => h.result()),
    )) as MigrationResult;
    expect(result.status).toBe('completed');
    expect(
      await db.query(
        `SELECT pg_get_userbyid(n.nspowner) AS schema_owner, pg_get_userbyid(c.relowner) AS table_owner,
                has_schema_privilege('${reader}', 'app', 'USAGE') AS usage, has_table_privilege('${reader}', 'app.notes', 'SELECT') AS sel,
                (SELECT count(*) FROM app.notes) AS n, obj_description(n.oid, 'pg_namespace') AS comment
           FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid WHERE n.nspname = 'app' AND c.relname = 'notes'`,
      ),
    ).toEqual([{ schema_owner: owner, table_owner: owner, usage: true, sel: true, n: '3', comment: 'the app' }]);
    await db.query(`DROP SCHEMA app CASCADE`);
  });

  it('an early approve or finalize is ignored and reported; a rollback once finalizing began is answered "too late"', async () => {
    await db.query('CREATE SCHEMA late; CREATE TABLE late.notes (id int)');
    const source = db.sqliteFixture('signals.db', NOTES);
    const gate = new Gate('migrationDropSchema'); // the first drop is finalize's drop of the previous schema
    const handle = await startMigration(t, {
      source,
      target: db.url,
      schema: 'late',
      requireApproval: true,
      rollbackWindowMinutes: 30,
    });
    await handle.signal('approve');
    await handle.signal('finalize');
    const result = (await worker(async () => {
      await expect.poll(() => phaseOf(handle), { timeout: 45_000, interval: 100 }).toBe('awaiting_approval');
      await handle.signal('approve');
      await expect.poll(() => phaseOf(handle), { timeout: 45_000, interval: 100 }).toBe('awaiting_finalize');
      await handle.signal('finalize');
      await expect.poll(() => gate.reached, { timeout: 45_000, interval: 50 }).toBe(true);
      await handle.signal('rollback', { reason: 'second thoughts' });
      await expect.poll(() => phaseOf(handle), { timeout: 10_000, interval: 50 }).toBe('finalizing');
      gate.release();
      return handle.result();
    }, gate)) as MigrationResult;
    expect(result.status).toBe('completed');
    expect(result.rollbackReason).toBeUndefined();
    expect(result.ignoredSignals).toEqual([
      expect.stringMatching(/^approve arrived during backup, before verification finished: ignored/),
      expect.stringMatching(/^finalize arrived during backup, before the cutover: ignored/),
      expect.stringMatching(
        /^rollback \("second thoughts"\) arrived during finalizing, after the rollback window closed: too late/,
      ),
    ]);
    const [n] = await db.query<{ n: string }>('SELECT count(*) AS n FROM late.notes');
    expect(n?.n).toBe('3');
  });
});
