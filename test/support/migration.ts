/** Helpers for migration tests: a PostgreSQL database each test owns, and running the workflow on it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATION_WORKFLOW, type MigrationInput, type MigrationResult } from '../../common/contracts/migration';
import { SERVERS, withPg } from './servers';
import { type TestTemporal, uniqueName } from './temporal';

/** A fresh PostgreSQL database and a scratch folder, both removed by `drop()`. */
export class TestDatabase {
  readonly name = uniqueName('dbops_mig').replace(/-/g, '_');
  readonly url = `postgres://root@127.0.0.1:5432/${this.name}`;
  readonly dir = mkdtempSync(join(tmpdir(), 'dbops-mig-'));

  /** Creates the database. */
  async create(): Promise<this> {
    await withPg(SERVERS.postgres, (c) => c.query(`CREATE DATABASE ${this.name}`));
    return this;
  }

  /** Runs SQL in the database and returns the rows. */
  async query<R = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
    return withPg(this.url, async (c) => (await c.query(sql, params)).rows as R[]);
  }

  /** Schemas other than the system ones. */
  async schemas(): Promise<string[]> {
    const rows = await this.query<{ nspname: string }>(
      "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1",
    );
    return rows.map((r) => r.nspname);
  }

  /** Writes a SQLite database in the scratch folder from SQL; returns its path. */
  sqliteFixture(name: string, sql: string): string {
    const path = join(this.dir, name);
    const sqlite = new Database(path);
    try {
      sqlite.exec(sql);
    } finally {
      sqlite.close();
    }
    return path;
  }

  /** Drops the database and the folder. */
  async drop(): Promise<void> {
    await withPg(SERVERS.postgres, (c) => c.query(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts the migration on the test's queue; returns the handle. */
export function startMigration(t: TestTemporal, input: MigrationInput, prefix = 'mig') {
  return t.client.workflow.start(MIGRATION_WORKFLOW, {
    workflowId: t.workflowId(prefix),
    taskQueue: t.taskQueue,
    args: [input],
  });
}

/** Runs the migration to its end and returns the result. */
export async function runMigration(t: TestTemporal, input: MigrationInput): Promise<MigrationResult> {
  const handle = await startMigration(t, input);
  return (await handle.result()) as MigrationResult;
}
