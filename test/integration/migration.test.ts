/**
 * The migration workflow end to end on real servers: the HelloAgents sample database, rollback by signal
 * before and after cutover, and the bad inputs that must fail cleanly and leave the target as it was.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Progress } from '../../common/progress';
import { createHelloAgentsDb } from '../../scripts/sample/helloagents';
import { summarizeFailure } from '../../scripts/cli/output';
import { runMigration, startMigration, TestDatabase } from '../support/migration';
import { TestTemporal } from '../support/temporal';

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('migrateSqliteToPostgres', () => {
  let t: TestTemporal;
  let db: TestDatabase;
  let source: string;
  let sourceSha: string;

  beforeAll(async () => {
    t = await TestTemporal.connect();
    db = await new TestDatabase().create();
    source = join(db.dir, 'helloagents.db');
    createHelloAgentsDb(source, { users: 60 });
    sourceSha = sha256(source);
  });
  afterAll(async () => {
    await t.cleanup();
    await db.drop();
  });

  const withWorker = <T>(body: () => Promise<T>) =>
    t.withWorker(body, { DBOPS_ARTIFACT_DIR: join(db.dir, 'artifacts') });

  it('migrates the HelloAgents database exactly: counts, checksums, types, values, keys, sequences, triggers', async () => {
    const result = await withWorker(() =>
      runMigration(t, { source, target: db.url, schema: 'helloagents', rollbackWindowMinutes: 0, chunkRows: 500 }),
    );

    expect(result.status).toBe('completed');
    expect(result.warnings).toEqual([]);
    expect(result.tables.map((x) => [x.name, x.rowsSource, x.rowsTarget, x.match])).toEqual([
      ['chat_messages', 1199, 1199, true],
      ['code_submissions', 300, 300, true],
      ['courses', 18, 18, true],
      ['progress', 600, 600, true],
      ['users', 60, 60, true],
    ]);
    const users = result.tables.find((x) => x.name === 'users');
    expect(Object.fromEntries(users?.columns.map((c) => [c.name, c.targetType]) ?? [])).toEqual({
      id: 'bigint',
      username: 'varchar(50)',
      email: 'text',
      display_name: 'text',
      is_active: 'boolean',
      settings: 'jsonb',
      created_at: 'timestamptz',
      updated_at: 'timestamptz',
    });
    expect(result.source.sha256Before).toBe(sourceSha);
    expect(result.source.sha256After).toBe(sourceSha);
    expect(sha256(source)).toBe(sourceSha);
    expect(existsSync(result.reports.markdown)).toBe(true);
    expect(readFileSync(result.reports.markdown, 'utf8')).toContain('| users.settings | TEXT | jsonb |');
    expect(await db.schemas()).toEqual(['helloagents', 'public']);

    const [user] = await db.query<{ settings: unknown; created_at: Date; is_active: boolean }>(
      'SELECT settings, created_at, is_active FROM helloagents.users WHERE id = 1',
    );
    expect(user?.settings).toMatchObject({ theme: expect.any(String), notifications: expect.any(Boolean) });
    expect(user?.created_at).toBeInstanceOf(Date);
    const [course] = await db.query<{ metadata: { topic: string; lessons: number } }>(
      "SELECT metadata FROM helloagents.courses WHERE slug = 'agents-1'",
    );
    expect(course?.metadata).toMatchObject({ topic: 'agents', lessons: 10 });
    // The newest message was deleted in the source: ids continue after sqlite_sequence.seq (1200), not max(id).
    const [inserted] = await db.query<{ id: string }>(
      "INSERT INTO helloagents.chat_messages (user_id, role, content) VALUES (1, 'user', 'hi') RETURNING id",
    );
    expect(inserted?.id).toBe('1201');
    const [updated] = await db.query<{ fresh: boolean }>(
      "UPDATE helloagents.users SET display_name = 'x' WHERE id = 2 RETURNING updated_at > now() - interval '1 minute' AS fresh",
    );
    expect(updated?.fresh).toBe(true);
    const indexes = await db.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = 'helloagents' ORDER BY indexname",
    );
    const defs = indexes.map((i) => i.indexdef).join('\n');
    expect(defs).toContain('CREATE UNIQUE INDEX users_email_lower ON helloagents.users USING btree (lower(email))');
    expect(defs).toContain(
      'CREATE INDEX progress_course_completed ON helloagents.progress USING btree (course_id) WHERE (completed = 1)',
    );
    expect(defs).toContain(
      'CREATE INDEX code_submissions_user_time ON helloagents.code_submissions USING btree (user_id, submitted_at DESC)',
    );
    const fks = await db.query<{ conname: string; def: string }>(
      "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE connamespace = 'helloagents'::regnamespace AND contype = 'f' ORDER BY 1",
    );
    expect(fks.find((f) => f.conname === 'chat_messages_course_id_fkey')?.def).toBe(
      'FOREIGN KEY (course_id) REFERENCES helloagents.courses(id) ON DELETE SET NULL',
    );
    const [view] = await db.query<{ n: string }>('SELECT count(*) AS n FROM helloagents.active_users');
    expect(Number(view?.n)).toBeGreaterThan(0);
  });

  it('seed extras: GIN on every jsonb column and GIN full-text on chosen text columns', async () => {
    const result = await withWorker(() =>
      runMigration(t, {
        source,
        target: db.url,
        schema: 'extras',
        rollbackWindowMinutes: 0,
        ginJsonb: true,
        fullText: ['chat_messages.content'],
      }),
    );
    expect(result.status).toBe('completed');
    const gin = await db.query<{ indexname: string; indexdef: string }>(
      "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'extras' AND indexdef LIKE '%USING gin%' ORDER BY 1",
    );
    expect(gin.map((i) => i.indexname)).toEqual([
      'chat_messages_content_fts',
      'code_submissions_result_gin',
      'courses_metadata_gin',
      'users_settings_gin',
    ]);
    const [hit] = await db.query<{ n: string }>(
      "SELECT count(*) AS n FROM extras.chat_messages WHERE to_tsvector('simple', content) @@ to_tsquery('simple', 'agent')",
    );
    expect(Number(hit?.n)).toBeGreaterThan(0);
    const bad = await withWorker(() =>
      runMigration(t, { source, target: db.url, schema: 'extras2', fullText: ['users.settings'] }).catch(
        (err: unknown) => err,
      ),
    );
    expect(summarizeFailure(bad).message).toContain('fullText "users.settings": column is jsonb, not text');
    expect(await db.schemas()).not.toContain('extras2');
  });

  it('rollback at awaiting_approval drops staging and leaves the existing schema exactly as it was', async () => {
    await db.query(
      "CREATE SCHEMA keep; CREATE TABLE keep.t (id int PRIMARY KEY, v text); INSERT INTO keep.t VALUES (1, 'original')",
    );
    const handle = await startMigration(t, {
      source,
      target: db.url,
      schema: 'keep',
      requireApproval: true,
      replaceSchema: true,
    });
    const result = await withWorker(async () => {
      await expect
        .poll(() => handle.query<Progress>('progress').then((p) => p.phase), { timeout: 45_000, interval: 200 })
        .toBe('awaiting_approval');
      expect((await db.schemas()).some((s) => s.startsWith('keep__dbops_stage_'))).toBe(true);
      await handle.signal('rollback', { reason: 'operator changed their mind' });
      return handle.result();
    });
    expect(result).toMatchObject({ status: 'rolled_back', rollbackReason: 'operator changed their mind' });
    expect((await db.schemas()).filter((s) => s.startsWith('keep'))).toEqual(['keep']);
    expect(await db.query('SELECT * FROM keep.t')).toEqual([{ id: 1, v: 'original' }]);
  });

  it('rollback after cutover (within the window) renames the previous schema back and keeps the migrated one aside', async () => {
    await db.query('CREATE SCHEMA prev; CREATE TABLE prev.old_table (id int); INSERT INTO prev.old_table VALUES (7)');
    const handle = await startMigration(t, {
      source,
      target: db.url,
      schema: 'prev',
      rollbackWindowMinutes: 30,
      replaceSchema: true,
    });
    const result = await withWorker(async () => {
      await expect
        .poll(() => handle.query<Progress>('progress').then((p) => p.phase), { timeout: 45_000, interval: 200 })
        .toBe('awaiting_finalize');
      const [migrated] = await db.query<{ n: string }>('SELECT count(*) AS n FROM prev.users');
      expect(migrated?.n).toBe('60');
      await handle.signal('rollback', { reason: 'app errors after cutover' });
      return handle.result();
    });
    const keptAs = `prev__dbops_rolled_back_${handle.firstExecutionRunId.replace(/-/g, '').slice(-8)}`;
    expect(result).toMatchObject({ status: 'rolled_back', rolledBackSchema: keptAs });
    expect((await db.schemas()).filter((s) => s.startsWith('prev'))).toEqual(['prev', keptAs]);
    expect(await db.query('SELECT * FROM prev.old_table')).toEqual([{ id: 7 }]);
    const [kept] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${keptAs}.users`);
    expect(kept?.n).toBe('60');
  });

  it('finalize during the window drops the previous schema and completes', async () => {
    await db.query('CREATE SCHEMA fin; CREATE TABLE fin.x (id int)');
    const handle = await startMigration(t, {
      source,
      target: db.url,
      schema: 'fin',
      rollbackWindowMinutes: 30,
      replaceSchema: true,
    });
    const result = await withWorker(async () => {
      await expect
        .poll(() => handle.query<Progress>('progress').then((p) => p.phase), { timeout: 45_000, interval: 200 })
        .toBe('awaiting_finalize');
      await handle.signal('finalize');
      return handle.result();
    });
    expect(result).toMatchObject({ status: 'completed' });
    expect((await db.schemas()).filter((s) => s.startsWith('fin'))).toEqual(['fin']);
    expect(await db.query("SELECT to_regclass('fin.x') AS t")).toEqual([{ t: null }]);
  });

  it('a second migration into a schema that is mid-migration is refused, naming the other run', async () => {
    const first = await startMigration(t, { source, target: db.url, schema: 'busy', requireApproval: true });
    const error = await withWorker(async () => {
      await expect
        .poll(() => first.query<Progress>('progress').then((p) => p.phase), { timeout: 45_000, interval: 200 })
        .toBe('awaiting_approval');
      const failure = await runMigration(t, { source, target: db.url, schema: 'busy' }).catch((err: unknown) => err);
      await first.signal('rollback');
      await first.result();
      return failure;
    });
    expect(summarizeFailure(error)).toMatchObject({ type: 'DBOPS_BAD_INPUT' });
    expect(summarizeFailure(error).message).toMatch(
      /another migration into schema "busy" is in progress .*busy__dbops_stage_/,
    );
  });

  const fails = async (input: Parameters<typeof runMigration>[1]) => {
    const error = await withWorker(() => runMigration(t, input).catch((err: unknown) => err));
    expect(error).toBeInstanceOf(WorkflowFailedError);
    return summarizeFailure(error);
  };

  it.each([
    [
      'a missing source file',
      () => ({ source: '/nonexistent/app.db' }),
      'DBOPS_BAD_INPUT',
      /\/nonexistent\/app\.db does not exist/,
    ],
    ['an invalid schema name', () => ({ schema: 'Bad-Name' }), 'DBOPS_BAD_INPUT', /invalid schema name "Bad-Name"/],
    [
      'a target database that does not exist',
      () => ({ target: 'postgres://root@127.0.0.1:5432/dbops_no_such_database' }),
      'DBOPS_DATABASE_MISSING',
      /dbops_no_such_database/,
    ],
    [
      'an unreachable target (after retries with backoff)',
      () => ({ target: 'postgres://root@127.0.0.1:1/x' }),
      'DBOPS_UNREACHABLE',
      /127\.0\.0\.1:1.*cannot connect/,
    ],
    [
      'a password in the target URL',
      () => ({ target: 'postgres://root:pw@127.0.0.1:5432/x' }),
      'DBOPS_SECRET_IN_INPUT',
      /input\.target/,
    ],
  ])('fails cleanly on %s', async (_label, patch, type, message) => {
    const before = await db.schemas();
    const failure = await fails({ source, target: db.url, schema: 'bad', ...patch() });
    expect(failure.type).toBe(type);
    expect(failure.message).toMatch(message);
    expect(await db.schemas()).toEqual(before);
  });

  it('fails cleanly on a corrupt SQLite file (damaged pages), naming it and the way out', async () => {
    const path = db.sqliteFixture(
      'damaged.db',
      "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO t SELECT i, printf('%0200d', i) FROM n;",
    );
    const bytes = readFileSync(path);
    bytes.fill(0xa5, 4096 * 2, 4096 * 6); // pages 3–6: b-tree pages of t, now garbage
    writeFileSync(path, bytes);
    const before = await db.schemas();
    const failure = await fails({ source: path, target: db.url, schema: 'bad' });
    expect(failure).toMatchObject({ type: 'DBOPS_BAD_INPUT' });
    expect(failure.message).toMatch(
      new RegExp(
        `${path} is (corrupt .*restore it from a backup first|not a readable SQLite database .*check the file)`,
      ),
    );
    expect(await db.schemas()).toEqual(before);
  });

  it('fails cleanly on a file that is not SQLite, naming it', async () => {
    const path = join(db.dir, 'notes.db');
    writeFileSync(path, 'just text\n'.repeat(1000));
    const failure = await fails({ source: path, target: db.url, schema: 'bad' });
    expect(failure).toMatchObject({ type: 'DBOPS_BAD_INPUT' });
    expect(failure.message).toContain(`${path} is not a readable SQLite database`);
  });
});
