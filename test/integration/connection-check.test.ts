/**
 * `connectionCheck` on the real Temporal dev server with a real worker, against the machine's PostgreSQL,
 * MariaDB and Redis, and a SQLite file the test creates.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionCheckResult } from '../../common/contracts/check';
import { SERVERS, withPg } from '../support/servers';
import { TestTemporal, uniqueName } from '../support/temporal';
import { summarizeFailure } from '../../scripts/cli/output';

describe('connectionCheck workflow', () => {
  let t: TestTemporal;
  const database = uniqueName('dbops_check').replace(/-/g, '_');
  const dir = mkdtempSync(join(tmpdir(), 'dbops-check-'));

  beforeAll(async () => {
    t = await TestTemporal.connect();
    await withPg(SERVERS.postgres, async (c) => {
      await c.query(`CREATE DATABASE ${database}`);
    });
    await withPg(`postgres://root@127.0.0.1:5432/${database}`, async (c) => {
      await c.query(
        'CREATE TABLE filler AS SELECT g AS id, repeat(md5(g::text), 20) AS pad FROM generate_series(1, 5000) g',
      );
    });
  });

  afterAll(async () => {
    await t.cleanup();
    await withPg(SERVERS.postgres, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (targets: string[], env: Record<string, string> = {}) =>
    t.withWorker(
      () =>
        t.client.workflow.execute('connectionCheck', {
          workflowId: t.workflowId('check'),
          taskQueue: t.taskQueue,
          args: [{ targets }],
        }) as Promise<ConnectionCheckResult>,
      env,
    );

  it('reports version, database and size of every engine, named and by URL', async () => {
    const sqlitePath = join(dir, 'app.db');
    const db = new Database(sqlitePath);
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('x')");
    db.close();

    const result = await run(['local_pg', 'local_mysql', 'local_redis', 'app_pg', sqlitePath], {
      DBOPS_CONNECTION_APP_PG: `postgres://root@127.0.0.1:5432/${database}`,
    });

    expect(result.healthy).toBe(true);
    const byTarget = Object.fromEntries(result.targets.map((r) => [r.target, r]));
    expect(byTarget.local_pg).toMatchObject({ ok: true, engine: 'postgres', database: 'test' });
    expect(byTarget.local_pg?.version).toMatch(/^\d+\.\d+/);
    expect(byTarget.local_mysql).toMatchObject({ ok: true, engine: 'mysql', database: 'test' });
    expect(byTarget.local_mysql?.version).toMatch(/MariaDB|^\d+\./);
    expect(byTarget.local_redis).toMatchObject({ ok: true, engine: 'redis' });
    expect(byTarget.local_redis?.version).toMatch(/^\d+\.\d+\.\d+$/);
    // The test database holds ~3 MB of filler: its size must be reported, and larger than an empty one.
    expect(byTarget.app_pg).toMatchObject({ ok: true, engine: 'postgres', database });
    expect(byTarget.app_pg?.sizeBytes).toBeGreaterThan(2_000_000);
    expect(byTarget[sqlitePath]).toMatchObject({ ok: true, engine: 'sqlite', database: sqlitePath });
    expect(byTarget[sqlitePath]?.version).toMatch(/^3\./);
  });

  it('reports a down server and a missing database as findings, with their codes', async () => {
    const result = await run([
      'postgres://root@127.0.0.1:1/test',
      `postgres://root@127.0.0.1:5432/${database}_missing`,
      'redis://127.0.0.1:1/0',
      'mysql://root@127.0.0.1:3306/dbops_no_such_db',
    ]);

    expect(result.healthy).toBe(false);
    expect(result.targets[0]).toMatchObject({ ok: false, error: { code: 'DBOPS_UNREACHABLE' } });
    expect(result.targets[0]?.error?.message).toContain('127.0.0.1:1');
    expect(result.targets[1]).toMatchObject({ ok: false, error: { code: 'DBOPS_DATABASE_MISSING' } });
    expect(result.targets[1]?.error?.message).toContain(`${database}_missing`);
    expect(result.targets[2]).toMatchObject({ ok: false, engine: 'redis', error: { code: 'DBOPS_UNREACHABLE' } });
    expect(result.targets[3]).toMatchObject({ ok: false, engine: 'mysql', error: { code: 'DBOPS_DATABASE_MISSING' } });
    expect(result.targets[3]?.error?.message).toContain('dbops_no_such_db');
  });

  it.each([
    [
      'an unknown connection name',
      ['nosuch'],
      'DBOPS_UNKNOWN_CONNECTION',
      /unknown connection "nosuch".*DBOPS_CONNECTION_NOSUCH/,
    ],
    ['an unsupported URL scheme', ['oracle://db/x'], 'DBOPS_BAD_INPUT', /"oracle" is not a supported URL scheme/],
    [
      'a SQLite path that does not exist',
      ['/nonexistent/dir/app.db'],
      'DBOPS_BAD_INPUT',
      /\/nonexistent\/dir\/app.db does not exist/,
    ],
  ])('fails non-retryably on %s, naming it', async (_label, targets, type, message) => {
    const error = await run(targets).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const summary = summarizeFailure(error);
    expect(summary.type).toBe(type);
    expect(summary.message).toMatch(message);
  });

  it('fails on a file that is not a SQLite database, naming the file', async () => {
    const path = join(dir, 'not-sqlite.db');
    writeFileSync(path, 'this is a text file, not a database\n'.repeat(200));
    const error = await run([path]).catch((err: unknown) => err);
    expect(summarizeFailure(error)).toMatchObject({ type: 'DBOPS_BAD_INPUT' });
    expect(summarizeFailure(error).message).toContain(`${path} is not a readable SQLite database`);
  });
});
