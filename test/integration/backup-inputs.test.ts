/**
 * What a backup run refuses or absorbs before it writes anything: a timestamp that is not a real instant or
 * lies in the future; a reference the worker cannot resolve (that target fails, the others complete); two
 * databases that would share one backup folder; and retention clearing a backup folder a dead run left
 * without a manifest once it is two days old (a recent one is left alone).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BACKUP_DATABASE_WORKFLOW,
  type BackupDatabaseResult,
  backupTimestamp,
  inputProblems,
  NIGHTLY_BACKUP_WORKFLOW,
  nightlyBackupInputSchema,
  type NightlyBackupResult,
} from '../../common/contracts/backup';
import { summarizeFailure } from '../../scripts/cli/output';
import { TestTemporal } from '../support/temporal';

function sqliteFile(path: string, rows: number): string {
  const db = new Database(path);
  db.exec(
    `CREATE TABLE t (id INTEGER PRIMARY KEY); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows}) INSERT INTO t SELECT i FROM n;`,
  );
  db.close();
  return path;
}

describe('backup inputs and leftovers', () => {
  let t: TestTemporal;
  const dir = mkdtempSync(join(tmpdir(), 'dbops-backup-inputs-'));
  const env = { DBOPS_ARTIFACT_DIR: join(dir, 'artifacts') };
  let shop: string;

  beforeAll(async () => {
    t = await TestTemporal.connect();
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    shop = sqliteFile(join(dir, 'a', 'shop.db'), 20);
    sqliteFile(join(dir, 'b', 'shop.db'), 30);
  });

  afterAll(async () => {
    await t?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run<T>(
    type: string,
    input: unknown,
  ): Promise<{ result?: T; error?: { type: string; message: string } }> {
    return t.withWorker(
      () =>
        t.client.workflow
          .execute(type, { taskQueue: t.taskQueue, workflowId: t.workflowId('inputs'), args: [input] })
          .then(
            (result) => ({ result: result as T }),
            (err: unknown) => ({ error: summarizeFailure(err) }),
          ),
      env,
    );
  }

  it('refuses a timestamp that is not a real instant, or one later than the run', async () => {
    expect(inputProblems(nightlyBackupInputSchema, { timestamp: '20261399T999999Z' })).toEqual([
      'timestamp: must be a real UTC instant written YYYYMMDDTHHMMSSZ, e.g. 20261130T030000Z',
    ]);
    const future = await run<BackupDatabaseResult>(BACKUP_DATABASE_WORKFLOW, {
      target: shop,
      timestamp: '20991231T000000Z',
      upload: false,
    });
    expect(future.error?.type).toBe('DBOPS_BAD_INPUT');
    expect(future.error?.message).toContain('later than this run started');
    expect(existsSync(join(dir, 'artifacts', 'backups', 'sqlite-shop', '20991231T000000Z'))).toBe(false);
  });

  it('an unknown connection fails as that target only; the other target of the night completes', async () => {
    const { error } = await run<NightlyBackupResult>(NIGHTLY_BACKUP_WORKFLOW, {
      targets: ['no_such_connection', shop],
      upload: false,
      verify: 'read',
      timestamp: '20261101T030000Z',
    });
    expect(error?.type).toBe('DBOPS_BACKUP_FAILED');
    expect(error?.message).toContain('no_such_connection: unknown connection "no_such_connection"');
    expect(existsSync(join(dir, 'artifacts', 'backups', 'sqlite-shop', '20261101T030000Z', 'manifest.json'))).toBe(
      true,
    );
  });

  it("refuses to put a second database into a folder that holds another one's backups", async () => {
    const first = await run<BackupDatabaseResult>(BACKUP_DATABASE_WORKFLOW, {
      target: shop,
      timestamp: '20261102T030000Z',
      upload: false,
      verify: 'checksum',
    });
    expect(first.result?.status).toBe('completed');
    const other = await run<BackupDatabaseResult>(BACKUP_DATABASE_WORKFLOW, {
      target: join(dir, 'b', 'shop.db'),
      timestamp: '20261103T030000Z',
      upload: false,
    });
    expect(other.error?.type).toBe('DBOPS_BAD_INPUT');
    expect(other.error?.message).toContain(`the backups under "sqlite-shop" are of ${shop}`);
  });

  it('retention removes a manifest-less backup folder once it is two days old, and leaves a recent one', async () => {
    const folder = join(dir, 'artifacts', 'backups', 'sqlite-shop');
    // Retention measures age from the run's own time (the Schedule's, else its start), so these are real ages.
    const stamp = (hoursAgo: number): string => backupTimestamp(new Date(Date.now() - hoursAgo * 3_600_000));
    const staleId = stamp(72);
    const recentId = stamp(1);
    const stale = join(folder, staleId);
    mkdirSync(join(stale), { recursive: true });
    writeFileSync(join(stale, 'database.sqlite.part'), 'half a dump');
    const { result } = await run<NightlyBackupResult>(NIGHTLY_BACKUP_WORKFLOW, {
      targets: [shop],
      upload: false,
      verify: 'checksum',
      timestamp: '20261104T030000Z',
    });
    const local = result?.retention.find((r) => r.location === 'local');
    expect(local?.unfinishedRemoved).toEqual([`sqlite-shop/${staleId}`]);
    expect(existsSync(stale)).toBe(false);

    const recent = join(folder, recentId);
    mkdirSync(recent, { recursive: true });
    const again = await run<NightlyBackupResult>(NIGHTLY_BACKUP_WORKFLOW, {
      targets: [shop],
      upload: false,
      verify: 'checksum',
      timestamp: '20261104T030000Z',
    });
    expect(again.result?.retention.find((r) => r.location === 'local')?.ignored).toContain(
      `sqlite-shop/${recentId} (no manifest: unfinished, left alone)`,
    );
    expect(existsSync(recent)).toBe(true);
  });
});
