/**
 * The operator's journey in a real browser (Chromium + playwright-core) against the local stack's
 * Temporal Web UI and worker: start a migration from the Start Workflow form, follow it, roll it back or
 * approve it from the signal dropdown, find runs waiting for an operator with the list's query box,
 * trigger the nightly backup Schedule, start an assessment. Outcomes are checked where they happen
 * (PostgreSQL, MinIO, the workflow's result), not only in the UI. Screenshots: .dbops/browser-artifacts/.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Key } from '../../activities/backup/store';
import { createS3Client } from '../../activities/s3/client';
import { type BackupManifest, MANIFEST_FILE, type NightlyBackupResult } from '../../common/contracts/backup';
import { MIGRATION_WORKFLOW } from '../../common/contracts/migration';
import { loadConfig } from '../../config/load';
import { NIGHTLY_SCHEDULE_ID } from '../../scripts/schedules/nightly';
import { TestDatabase } from '../support/migration';
import { Journey } from './support/journey';
import { StackTemporal } from './support/stack';
import { openWorkflow, searchWorkflows, sendSignal, startFromUi, waitForPhase } from './support/ui';

/** Everything an operator could lose: every schema, table, and the rows of each (as md5 of their text). */
async function fingerprint(db: TestDatabase): Promise<string[]> {
  const tables = await db.query<{ schemaname: string; tablename: string }>(
    `SELECT schemaname, tablename FROM pg_tables
     WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
  );
  const out = (await db.schemas()).map((s) => `schema ${s}`);
  for (const { schemaname, tablename } of tables) {
    const [row] = await db.query<{ n: number; digest: string }>(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS digest
       FROM "${schemaname}"."${tablename}" t`,
    );
    out.push(`table ${schemaname}.${tablename}: ${row?.n} rows ${row?.digest}`);
  }
  return out;
}

/** A PostgreSQL database whose schema `app` already holds the application's (older) users. */
async function liveTarget(): Promise<TestDatabase> {
  const db = await new TestDatabase().create();
  await db.query(`CREATE SCHEMA app; CREATE TABLE app.users (id bigint PRIMARY KEY, name text NOT NULL);
                  INSERT INTO app.users VALUES (1, 'ada'), (2, 'grace'), (3, 'edsger')`);
  return db;
}

/** The SQLite the operator migrates: a newer users table and a few messages. */
function sqliteSource(db: TestDatabase): string {
  const rows = Array.from({ length: 500 }, (_, i) => `(${i + 1}, 'user ${i + 1}')`).join(', ');
  const messages = Array.from({ length: 200 }, (_, i) => `(${i + 1}, ${(i % 500) + 1}, '{"text": "hi ${i}"}')`).join(
    ', ',
  );
  return db.sqliteFixture(
    'app.db',
    `CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
     INSERT INTO users VALUES ${rows};
     CREATE TABLE messages (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), body TEXT);
     INSERT INTO messages VALUES ${messages};`,
  );
}

describe('the operator journey in the Web UI', () => {
  let temporal: StackTemporal;
  const databases: TestDatabase[] = [];
  const journeys: Journey[] = [];

  const open = async (name: string): Promise<Journey> => {
    const j = await Journey.open(name);
    journeys.push(j);
    return j;
  };

  beforeAll(async () => {
    temporal = await StackTemporal.connect();
  });
  afterAll(async () => {
    for (const j of journeys) await j.close();
    await temporal?.cleanup();
    for (const db of databases) await db.drop();
  });

  it('1. start a migration from the form, follow it, roll it back from the signal dropdown: PostgreSQL is as before', async () => {
    const db = await liveTarget();
    databases.push(db);
    const before = await fingerprint(db);
    const source = sqliteSource(db);
    const j = await open('1-migrate-rollback');
    const workflowId = temporal.workflowId('migrate');

    await startFromUi(j, {
      workflowId,
      workflowType: MIGRATION_WORKFLOW,
      input: { source, target: db.url, schema: 'app', rollbackWindowMinutes: 60 },
      summary: `migrate app.db → ${db.name}/app`,
    });
    const details = await waitForPhase(j, workflowId, 'awaiting_finalize');
    expect(details).toContain('signal finalize to drop the previous schema');
    expect(details).toContain('rollback');
    expect(details).toContain(`migrate app.db → ${db.name}/app`); // the summary typed into the form
    await j.shot('awaiting-finalize');
    // Cut over: the migrated rows are live in schema app.
    expect(await db.query(`SELECT count(*)::int AS n FROM app.users`)).toEqual([{ n: 500 }]);

    const description = await sendSignal(j, 'rollback', { reason: 'browser test: wrong source file' });
    expect(description).toMatch(/Undo the migration/);
    const result = await temporal.client.workflow.getHandle(workflowId).result();
    expect(result.status).toBe('rolled_back');
    await waitForPhase(j, workflowId, 'rolled_back');
    await j.shot('rolled-back');
    // The previous schema is back, byte for byte; the migrated one is kept aside under the name the result
    // gives (rows the application wrote during the window are not lost), and nothing else is left behind.
    const aside = result.rolledBackSchema;
    expect(aside).toMatch(/^app__/);
    const after = await fingerprint(db);
    expect(after.filter((line) => !line.includes(` ${aside}`))).toEqual(before);
    expect(after).toContain(`schema ${aside}`);
  });

  it('2 and 5. a migration waiting for approval is found with the query box, approved from the dropdown, and completes', async () => {
    const db = await new TestDatabase().create();
    databases.push(db);
    const source = sqliteSource(db);
    const j = await open('2-migrate-approve');
    const workflowId = temporal.workflowId('approve');

    await startFromUi(j, {
      workflowId,
      workflowType: MIGRATION_WORKFLOW,
      input: { source, target: db.url, schema: 'app', requireApproval: true, rollbackWindowMinutes: 0 },
      summary: `migrate app.db → ${db.name}/app`,
    });
    const details = await waitForPhase(j, workflowId, 'awaiting_approval');
    expect(details).toContain('Waiting for you');
    await j.shot('awaiting-approval');
    // Nothing is cut over while it waits.
    expect(await db.schemas()).not.toContain('app');

    // 5. The README's query for "who is waiting for me".
    const rows = await searchWorkflows(j, 'DbopsPhase = "awaiting_approval"');
    expect(rows.some((row) => row.includes(workflowId))).toBe(true);
    await j.shot('query-awaiting-approval');

    await openWorkflow(j, workflowId);
    const description = await sendSignal(j, 'approve');
    expect(description).toMatch(/Allow the cutover/);
    const result = await temporal.client.workflow.getHandle(workflowId).result();
    expect(result.status).toBe('completed');
    await waitForPhase(j, workflowId, 'completed');
    await j.shot('completed');
    expect(await db.query('SELECT count(*)::int AS n FROM app.users')).toEqual([{ n: 500 }]);
    expect(await db.query('SELECT count(*)::int AS n FROM app.messages')).toEqual([{ n: 200 }]);
  });

  it(
    '3. the nightly backup Schedule is listed with its next run, triggered from the UI; its manifests are in MinIO',
    { timeout: 600_000 },
    async () => {
      const j = await open('3-schedule-trigger');
      const schedule = temporal.client.schedule.getHandle(NIGHTLY_SCHEDULE_ID);
      const seen = new Set((await schedule.describe()).info.recentActions.map((a) => a.action.workflow.workflowId));

      await j.go('/schedules');
      const row = j.page.getByRole('row').filter({ hasText: NIGHTLY_SCHEDULE_ID });
      await row.waitFor();
      expect(await row.innerText()).toMatch(/\d{4}-\d{2}-\d{2} UTC \d{2}:\d{2}/); // its upcoming runs
      await j.shot('schedules');
      await row.getByText(NIGHTLY_SCHEDULE_ID).click();
      await j.page.getByRole('heading', { name: 'Upcoming Runs' }).waitFor();
      await j.shot('schedule');
      await j.page.getByRole('button', { name: 'Schedule Actions' }).click();
      await j.page.getByRole('menuitem', { name: 'Trigger' }).click();
      const dialog = j.page.getByRole('dialog').filter({ hasText: 'Trigger Immediately' });
      await j.shot('trigger');
      await dialog.getByRole('button', { name: 'Trigger' }).click();
      await dialog.waitFor({ state: 'hidden' });

      // The run the trigger started: the Schedule's newest action not seen before.
      let workflowId = '';
      await expect
        .poll(
          async () => {
            const { info } = await schedule.describe();
            const ids = [
              ...info.runningActions.map((a) => a.workflow.workflowId),
              ...info.recentActions.map((a) => a.action.workflow.workflowId),
            ];
            workflowId = ids.find((id) => !seen.has(id)) ?? '';
            return workflowId;
          },
          { timeout: 30_000 },
        )
        .not.toBe('');
      temporal.own(workflowId);
      await j.page.reload();
      await j.page.getByText(workflowId).first().waitFor();
      await j.shot('triggered-run');
      const result = (await temporal.client.workflow.getHandle(workflowId).result()) as NightlyBackupResult;
      expect(result.status).toBe('completed');
      expect(result.backups.length).toBeGreaterThan(0);

      const config = loadConfig();
      const s3 = createS3Client(config.s3);
      try {
        for (const backup of result.backups) {
          expect(backup.uploaded).toBe(true);
          const object = await s3.send(
            new GetObjectCommand({
              Bucket: config.s3.bucket,
              Key: s3Key(config, backup.backupId as string, MANIFEST_FILE),
            }),
          );
          const manifest = JSON.parse(await object.Body!.transformToString()) as BackupManifest;
          expect(manifest.backupId).toBe(backup.backupId);
        }
      } finally {
        s3.destroy();
      }
      await openWorkflow(j, workflowId);
      await j.shot('backup-run');
    },
  );

  it('4. an assessment started from the form shows its score and where its report is', async () => {
    const db = await liveTarget();
    databases.push(db);
    const j = await open('4-assess');
    const workflowId = temporal.workflowId('assess');
    await startFromUi(j, {
      workflowId,
      workflowType: 'assessEstate',
      input: { targets: [db.url], windowSeconds: 1, backup: false },
      summary: `assess ${db.name}`,
    });
    const result = await temporal.client.workflow.getHandle(workflowId).result();
    await openWorkflow(j, workflowId);
    // The result panel opens with the score and the report's path.
    const panel = j.page.locator('div', { has: j.page.getByRole('heading', { name: 'Result', exact: true }) }).last();
    await expect.poll(() => panel.innerText(), { timeout: 30_000 }).toContain('DATABASE_ASSESSMENT_REPORT.md');
    const shown = await panel.innerText();
    expect(shown).toContain(`"score": ${result.overall.score}`);
    expect(shown).toContain(`"report": "${result.report}"`);
    await j.shot('assessment-result');
  });
});
