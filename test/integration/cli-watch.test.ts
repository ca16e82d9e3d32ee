/**
 * `dbops watch` and `--wait` against real migrations on the Temporal dev server and PostgreSQL: the CLI
 * runs as a subprocess with stdout piped (not a TTY), so it prints plain lines; the test reads them as they
 * come and acts on what they say (approve, rollback), never on time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationInput } from '../../common/contracts/migration';
import type { Progress } from '../../common/progress';
import { PATHS } from '../../scripts/stack/paths';
import { type CliRun, parseJson, runDbops } from '../support/cli';
import { startMigration, TestDatabase } from '../support/migration';
import { TestTemporal, testEnv } from '../support/temporal';

const ANSI = /\x1b\[/;

/** A `dbops` subprocess whose output the test reads while it runs. */
interface LiveRun {
  /** Resolves with stdout so far once it matches `pattern`; rejects if the process exits first. */
  until(pattern: RegExp): Promise<string>;
  exited: Promise<CliRun>;
}

const children = new Set<ChildProcess>();

function spawnDbops(args: string[], env: Record<string, string>): LiveRun {
  const child = spawn(process.execPath, [join(PATHS.root, 'bin', 'dbops.js'), ...args], {
    cwd: PATHS.root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const l of listeners) l();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      children.delete(child);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
  return {
    exited,
    until: (pattern) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          if (pattern.test(stdout)) {
            listeners.delete(check);
            resolve(stdout);
          }
        };
        listeners.add(check);
        check();
        void exited.then((run) => {
          if (!pattern.test(run.stdout))
            reject(
              new Error(`dbops exited ${run.code} before printing ${String(pattern)}:\n${run.stdout}\n${run.stderr}`),
            );
        });
      }),
  };
}

describe('dbops watch', () => {
  let t: TestTemporal;
  let db: TestDatabase;
  let env: Record<string, string>;
  let source: string;
  const workerEnv = () => ({ DBOPS_ARTIFACT_DIR: join(db.dir, 'artifacts') });
  const migration = (schema: string, extra: Partial<MigrationInput> = {}): MigrationInput => ({
    source,
    target: db.url,
    schema,
    rollbackWindowMinutes: 0,
    ...extra,
  });

  beforeAll(async () => {
    t = await TestTemporal.connect();
    db = await new TestDatabase().create();
    env = testEnv(t.taskQueue, { DBOPS_ARTIFACT_DIR: join(db.dir, 'artifacts') });
    source = db.sqliteFixture(
      'app.db',
      `CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
       CREATE TABLE courses (id INTEGER PRIMARY KEY, title TEXT, owner INTEGER REFERENCES users(id));
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
         INSERT INTO users SELECT i, 'user ' || i FROM n;
       INSERT INTO courses SELECT id, 'course ' || id, id FROM users WHERE id <= 18;`,
    );
  });
  afterEach(() => {
    for (const child of children) child.kill();
  });
  afterAll(async () => {
    await t.cleanup();
    await db.drop();
  });

  it(
    'follows a migration to awaiting_approval naming approve | rollback; after approve it exits 0 like result',
    { timeout: 90_000 },
    async () => {
      await t.withWorker(async () => {
        const handle = await startMigration(t, migration('watch_ok', { requireApproval: true }), 'watch-ok');
        const id = handle.workflowId;
        const watch = spawnDbops(['watch', id], env);
        const seen = await watch.until(/awaiting_approval[^\n]*\n(?:[^\n]*\n)*?[^\n]*signals: approve \| rollback/);
        expect(seen).toMatch(/^\d\d:\d\d:\d\d awaiting_approval {2}.*— verified; waiting for the approve/m);
        expect(seen).toContain(`signals: approve | rollback  (npx dbops signal ${id} <name>)`);

        const approve = await runDbops(['signal', id, 'approve'], env);
        expect(approve.code).toBe(0);
        const run = await watch.exited;
        expect(run.code).toBe(0);
        expect(run.stdout).not.toMatch(ANSI);
        expect(run.stdout).toMatch(
          new RegExp(`^\\d\\d:\\d\\d:\\d\\d completed {2}${id} in \\S+ {2}\\(exit 0\\)$`, 'm'),
        );
        expect(run.stdout).toContain('  result: completed  schema watch_ok');
        const result = await runDbops(['result', id], env);
        expect(result.code).toBe(run.code);
      }, workerEnv());
    },
  );

  it(
    'a rolled-back run: watch and watch --json (NDJSON) exit 1, the code result gives',
    { timeout: 90_000 },
    async () => {
      await t.withWorker(async () => {
        const handle = await startMigration(t, migration('watch_rb', { requireApproval: true }), 'watch-rb');
        const id = handle.workflowId;
        const watch = spawnDbops(['watch', id], env);
        const json = spawnDbops(['watch', id, '--json'], env);
        await watch.until(/signals: approve \| rollback/);
        await json.until(/"phase":"awaiting_approval"/);
        expect((await runDbops(['signal', id, 'rollback', '--arg', '{"reason":"watch test"}'], env)).code).toBe(0);

        const run = await watch.exited;
        expect(run.code).toBe(1);
        expect(run.stdout).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d rolled_back {2}${id} .*\\(exit 1\\)$`, 'm'));
        const events = (await json.exited).stdout
          .trimEnd()
          .split('\n')
          .map((line) => JSON.parse(line) as Record<string, unknown>);
        expect(events.length).toBeGreaterThanOrEqual(2);
        expect(events.slice(0, -1).every((e) => e.event === 'progress' && e.workflowId === id)).toBe(true);
        expect(events.find((e) => e.phase === 'awaiting_approval')).toMatchObject({
          type: 'migrateSqliteToPostgres',
          worker: true,
          signals: ['approve', 'rollback'],
        });
        expect(events.at(-1)).toMatchObject({
          event: 'end',
          workflowId: id,
          status: 'rolled_back',
          exitCode: 1,
          result: { status: 'rolled_back', rollbackReason: 'watch test' },
        });
        expect((await json.exited).code).toBe(1);
        expect((await runDbops(['result', id, '--json'], env)).code).toBe(1);
      }, workerEnv());
    },
  );

  it('a failed run: exit 1 and the failure type, as result gives', { timeout: 60_000 }, async () => {
    await t.withWorker(async () => {
      const handle = await startMigration(
        t,
        { ...migration('watch_fail'), source: join(db.dir, 'missing.db') },
        'watch-fail',
      );
      const run = await runDbops(['watch', handle.workflowId], env);
      const result = await runDbops(['result', handle.workflowId], env);
      expect(result.code).toBe(1);
      expect(run.code).toBe(result.code);
      expect(run.stdout).toMatch(/ failed {2}\S+ .*\(exit 1\) {2}DBOPS_BAD_INPUT: /);
      expect(run.stderr).toContain(`${handle.workflowId} failed: DBOPS_BAD_INPUT:`);
    }, workerEnv());
  });

  it(
    'with no worker answering, shows the recorded phase and says so; a terminated run exits 1',
    { timeout: 60_000 },
    async () => {
      const handle = await t.withWorker(async () => {
        const started = await startMigration(t, migration('watch_noworker', { requireApproval: true }), 'watch-nw');
        await expect
          .poll(async () => (await started.query<Progress>('progress')).phase, { timeout: 45_000, interval: 200 })
          .toBe('awaiting_approval');
        return started;
      }, workerEnv());
      const watch = spawnDbops(['watch', handle.workflowId], env);
      const seen = await watch.until(/no worker is answering.*\n.*signals: approve \| rollback/);
      expect(seen).toMatch(
        / awaiting_approval {2}\(no worker is answering the progress query; phase from the DbopsPhase search attribute\)/,
      );
      expect(seen).toContain('signals: approve | rollback');
      await handle.terminate('watch test');
      const run = await watch.exited;
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/ failed {2}\S+ .*\(exit 1\) {2}TerminatedFailure/);
    },
  );

  it('an unknown id: exit 1, says how to find one (also with --json)', async () => {
    const run = await runDbops(['watch', 'no-such-workflow-id'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no workflow with id "no-such-workflow-id": `npx dbops list` shows recent ones');
    const json = await runDbops(['watch', 'no-such-workflow-id', '--json'], env);
    expect(json.code).toBe(1);
    expect(parseJson(json)).toMatchObject({ status: 'failed', error: { type: 'WorkflowNotFound' } });
  });

  /** `dbops migrate` of the fixture into `schema`, finalized at once, under workflow id `id`. */
  const migrateArgs = (schema: string, id: string): string[] => [
    'migrate',
    '--source',
    source,
    '--target',
    db.url,
    '--schema',
    schema,
    '--rollback-window',
    '0',
    '--id',
    id,
  ];

  it(
    'migrate --wait when not a TTY: plain progress on stderr, the result alone on stdout; --json unchanged',
    { timeout: 90_000 },
    async () => {
      await t.withWorker(async () => {
        const id = t.workflowId('watch-wait');
        const run = await runDbops([...migrateArgs('watch_wait', id), '--wait'], env);
        expect(run.code).toBe(0);
        expect(run.stdout.split('\n')[0]).toBe('completed: schema watch_wait');
        expect(run.stdout).not.toMatch(/^\d\d:\d\d:\d\d /m);
        expect(run.stderr).toContain(`started migrateSqliteToPostgres ${id}`);
        expect(run.stderr).toMatch(
          new RegExp(`^\\d\\d:\\d\\d:\\d\\d completed {2}${id} in \\S+ {2}\\(exit 0\\)$`, 'm'),
        );
        expect(run.stdout + run.stderr).not.toMatch(ANSI);

        const jsonId = t.workflowId('watch-wait-json');
        const json = await runDbops([...migrateArgs('watch_wait_json', jsonId), '--wait', '--json'], env);
        expect(json.code).toBe(0);
        expect(parseJson(json)).toMatchObject({ status: 'completed', schema: 'watch_wait_json' });
        expect(json.stderr).toBe('');
      }, workerEnv());
    },
  );
});
