/**
 * `restoreBackup` end to end through a real worker on the machine's servers: PostgreSQL into a new
 * database, the refusals that must leave a target exactly as it was (not empty, the source itself, a missing
 * database, a damaged backup), `clean`, `<target>:latest`, a restore from S3 (MinIO), MySQL, Redis (into a
 * throwaway redis-server, never the shared one) and SQLite. Every test owns its databases, files and bucket.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteLocal, localBackupDir, writeLocalManifest } from '../../activities/backup/store';
import { createS3Client, ensureBucket } from '../../activities/s3/client';
import {
  BACKUP_DATABASE_WORKFLOW,
  type BackupDatabaseResult,
  type BackupManifest,
  RESTORE_WORKFLOW,
  type RestoreInput,
  type RestoreResult,
} from '../../common/contracts/backup';
import { ErrorCode } from '../../common/errors';
import type { DbopsConfig } from '../../config/load';
import { summarizeFailure } from '../../scripts/cli/output';
import { makeBackup, ThrowawayRedis, dropBucket } from '../support/backup';
import { SERVERS, withPg } from '../support/servers';
import { TestTemporal, testConfig, uniqueName } from '../support/temporal';

const suffix = randomBytes(4).toString('hex');
const pgName = (what: string): string => `dbops_rst_${suffix}_${what}`;
const pgUrl = (db: string): string => `postgres://root@127.0.0.1:5432/${db}`;
const ITEMS = 250;

describe('restoreBackup', () => {
  let t: TestTemporal;
  let dir: string;
  let env: Record<string, string>;
  let config: DbopsConfig;
  let s3: S3Client;
  const bucket = uniqueName('dbops-restore');
  const pgDatabases = new Set<string>();
  const source = pgName('src');

  /** Creates a PostgreSQL database this test file drops at the end. */
  async function createPg(name: string, sql = ''): Promise<string> {
    pgDatabases.add(name);
    await withPg(SERVERS.postgres, (c) => c.query(`CREATE DATABASE ${name}`));
    if (sql) await withPg(pgUrl(name), (c) => c.query(sql));
    return pgUrl(name);
  }

  async function pgExists(name: string): Promise<boolean> {
    const { rows } = await withPg(SERVERS.postgres, (c) =>
      c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]),
    );
    return rows.length > 0;
  }

  /** Tables of a database as `schema.table` → rows. */
  async function pgCounts(name: string): Promise<Record<string, number>> {
    return withPg(pgUrl(name), async (c) => {
      const { rows } = await c.query<{ t: string }>(
        `SELECT table_schema || '.' || table_name AS t FROM information_schema.tables
          WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
      );
      const counts: Record<string, number> = {};
      for (const { t: table } of rows) {
        const [schema, rel] = table.split('.');
        const r = await c.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}"."${rel}"`);
        counts[table] = Number(r.rows[0]?.n);
      }
      return counts;
    });
  }

  /** Runs the workflow to its end on a worker of this test's own. */
  async function restore(input: RestoreInput): Promise<RestoreResult> {
    return t.withWorker(async () => {
      const handle = await t.client.workflow.start(RESTORE_WORKFLOW, {
        workflowId: t.workflowId('restore'),
        taskQueue: t.taskQueue,
        args: [input],
      });
      return (await handle.result()) as RestoreResult;
    }, env);
  }

  /** The failure a restore ends with (type and message); fails the test when it succeeds. */
  async function refusal(input: RestoreInput): Promise<{ type: string; message: string }> {
    const outcome = await restore(input).then(
      (result) => ({ result }),
      (err: unknown) => ({ err }),
    );
    if ('result' in outcome)
      throw new Error(`expected the restore to fail, it returned ${JSON.stringify(outcome.result)}`);
    return summarizeFailure(outcome.err);
  }

  const countsOf = (manifest: BackupManifest) =>
    Object.entries(manifest.rowCounts ?? {})
      .map(([name, n]) => ({ name, expected: n, actual: n }))
      .sort((a, b) => a.name.localeCompare(b.name));

  beforeAll(async () => {
    t = await TestTemporal.connect();
    dir = mkdtempSync(join(tmpdir(), 'dbops-restore-'));
    env = { DBOPS_ARTIFACT_DIR: join(dir, 'artifacts'), DBOPS_S3_BUCKET: bucket };
    config = testConfig(t.taskQueue, env);
    s3 = createS3Client(config.s3);
    await ensureBucket(s3, bucket);
    await createPg(
      source,
      `CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, doc jsonb, price numeric(10,2));
       INSERT INTO items (name, doc, price)
         SELECT 'item ' || g, jsonb_build_object('n', g, 'tags', jsonb_build_array('a', 'ü')), g * 1.25
           FROM generate_series(1, ${ITEMS}) g;
       CREATE SCHEMA extra;
       CREATE TABLE extra.notes (id int PRIMARY KEY, body text);
       INSERT INTO extra.notes VALUES (1, 'first'), (2, 'second'), (3, NULL);
       CREATE TABLE empty_one (id int);
       CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 10;`,
    );
  });

  afterAll(async () => {
    await t.cleanup();
    for (const name of pgDatabases)
      await withPg(SERVERS.postgres, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    await dropBucket(s3, bucket);
    s3.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('restores a PostgreSQL backup into a new database (createDatabase) with identical rows', async () => {
    const backup = await makeBackup(config, pgUrl(source));
    const target = pgName('new');
    pgDatabases.add(target);

    const result = await restore({ backup: backup.backupId, target: pgUrl(target), createDatabase: true });

    expect(result).toMatchObject({ status: 'completed', backupId: backup.backupId, engine: 'postgres', from: 'local' });
    expect(result.createdDatabase).toBe(true);
    expect(result.counts).toEqual(countsOf(backup));
    expect(result.counts.find((c) => c.name === 'public.items')?.actual).toBe(ITEMS);
    expect(await pgCounts(target)).toEqual(await pgCounts(source));
    const [row] = await withPg(
      pgUrl(target),
      async (c) =>
        (
          await c.query<{ name: string; doc: unknown; price: string }>(
            'SELECT name, doc, price FROM items WHERE id = 7',
          )
        ).rows,
    );
    expect(row).toEqual({ name: 'item 7', doc: { n: 7, tags: ['a', 'ü'] }, price: '8.75' });
    // The sequence came along: the next id continues after the restored rows.
    const [next] = await withPg(
      pgUrl(target),
      async (c) => (await c.query<{ id: number }>(`INSERT INTO items (name) VALUES ('new') RETURNING id`)).rows,
    );
    expect(next?.id).toBe(ITEMS + 1);
  });

  it('refuses a non-empty database without clean and leaves it as it was; with clean it restores', async () => {
    const backup = await makeBackup(config, pgUrl(source));
    const target = pgName('busy');
    await createPg(
      target,
      `CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'mine');
       CREATE TABLE keep (id int); INSERT INTO keep VALUES (1), (2);`,
    );
    const before = await pgCounts(target);

    const refused = await refusal({ backup: backup.backupId, target: pgUrl(target) });
    expect(refused.type).toBe(ErrorCode.RestoreRefused);
    expect(refused.message).toMatch(
      /is not empty \(2 table\(s\), view\(s\) or sequence\(s\)\).*clean: true \(CLI --clean\)/,
    );
    expect(await pgCounts(target)).toEqual(before);

    const result = await restore({ backup: backup.backupId, target: pgUrl(target), clean: true });
    expect(result.createdDatabase).toBe(false);
    expect(result.counts).toEqual(countsOf(backup));
    const after = await pgCounts(target);
    expect(after['public.items']).toBe(ITEMS);
    // clean drops and recreates what the backup holds; what it does not hold is kept.
    expect(after['public.keep']).toBe(2);
  });

  it('refuses to restore onto the database the backup was taken from', async () => {
    const backup = await makeBackup(config, pgUrl(source));
    const before = await pgCounts(source);

    const refused = await refusal({ backup: backup.backupId, target: pgUrl(source), clean: true });
    expect(refused.type).toBe(ErrorCode.RestoreRefused);
    expect(refused.message).toContain('is the database this backup was taken from');
    expect(refused.message).toContain('overwriteSource: true (CLI --overwrite-source)');
    expect(await pgCounts(source)).toEqual(before);
  });

  it('refuses a missing database without createDatabase, and bad or unknown backup ids', async () => {
    const backup = await makeBackup(config, pgUrl(source));
    const target = pgName('missing');
    pgDatabases.add(target);

    const missing = await refusal({ backup: backup.backupId, target: pgUrl(target) });
    expect(missing.type).toBe(ErrorCode.RestoreRefused);
    expect(missing.message).toContain('createDatabase: true (CLI --create-database)');
    expect(await pgExists(target)).toBe(false);

    const malformed = await refusal({ backup: 'not a backup id', target: pgUrl(target), createDatabase: true });
    expect(malformed.type).toBe(ErrorCode.BadInput);
    expect(malformed.message).toContain('<target>/<YYYYMMDDTHHMMSSZ>');

    const folder = backup.backupId.split('/')[0];
    const unknown = await refusal({
      backup: `${folder}/19990101T000000Z`,
      target: pgUrl(target),
      createDatabase: true,
    });
    expect(unknown.type).toBe(ErrorCode.BadInput);
    expect(unknown.message).toContain(backup.backupId);
    expect(await pgExists(target)).toBe(false);

    const invalid = await refusal({ backup: backup.backupId, target: pgUrl(target), jobs: 0 } as RestoreInput);
    expect(invalid.type).toBe(ErrorCode.BadInput);
  });

  it('<target>:latest restores the newest backup that passed verification', async () => {
    const own = pgName('latest_src');
    await createPg(own, `CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 10);`);
    const older = await makeBackup(config, pgUrl(own));
    const newest = await makeBackup(config, pgUrl(own));
    await withPg(pgUrl(own), (c) => c.query('INSERT INTO t SELECT generate_series(11, 15)'));
    const failed = await makeBackup(config, pgUrl(own), { verification: 'failed' });
    const folder = newest.backupId.split('/')[0];
    expect(older.backupId < newest.backupId).toBe(true);
    const target = pgName('latest');
    pgDatabases.add(target);

    const result = await restore({ backup: `${folder}:latest`, target: pgUrl(target), createDatabase: true });

    expect(result.backupId).toBe(newest.backupId);
    expect(result.counts).toEqual([{ name: 'public.t', expected: 10, actual: 10 }]);

    // Named explicitly, a backup that failed its verification is refused unless the operator insists.
    const bad = await refusal({ backup: failed.backupId, target: pgUrl(target), clean: true });
    expect(bad.type).toBe(ErrorCode.RestoreRefused);
    expect(bad.message).toContain('allowUnverified');
    expect(await pgCounts(target)).toEqual({ 'public.t': 10 });
    const forced = await restore({
      backup: failed.backupId,
      target: pgUrl(target),
      clean: true,
      allowUnverified: true,
    });
    expect(forced.counts).toEqual([{ name: 'public.t', expected: 15, actual: 15 }]);

    const none = await refusal({ backup: 'no_such_target:latest', target: pgUrl(target), clean: true });
    expect(none.type).toBe(ErrorCode.BadInput);
    expect(none.message).toContain('there are no backups of "no_such_target"');
  });

  it('a damaged local file fails BackupCorrupt before the target is touched', async () => {
    const backup = await makeBackup(config, pgUrl(source));
    const path = join(localBackupDir(config, backup.backupId), 'dump.pgcustom');
    const bytes = readFileSync(path);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    writeFileSync(path, bytes);
    const target = pgName('corrupt');
    pgDatabases.add(target);

    const failed = await refusal({ backup: backup.backupId, target: pgUrl(target), createDatabase: true });

    expect(failed.type).toBe(ErrorCode.BackupCorrupt);
    expect(failed.message).toContain('dump.pgcustom hashes to');
    expect(await pgExists(target)).toBe(false);
  });

  it('restores plain and schema-only PostgreSQL backups; a count that differs from the manifest fails the check', async () => {
    const plain = await makeBackup(config, pgUrl(source), { formats: ['plain'] });
    const schemaOnly = await makeBackup(config, pgUrl(source), { formats: ['schema'] });
    const [a, b, c] = [pgName('plain'), pgName('schema'), pgName('differs')];
    [a, b, c].forEach((name) => pgDatabases.add(name));

    const fromPlain = await restore({ backup: plain.backupId, target: pgUrl(a), createDatabase: true });
    expect(fromPlain.counts).toEqual(countsOf(plain));

    const fromSchema = await restore({ backup: schemaOnly.backupId, target: pgUrl(b), createDatabase: true });
    expect(fromSchema.counts.map((x) => [x.name, x.expected, x.actual])).toEqual(
      countsOf(schemaOnly).map((x) => [x.name, 0, 0]),
    );

    // A manifest that promises one row more than the dump holds: the restore runs, the check catches it.
    await writeLocalManifest(config, {
      ...plain,
      rowCounts: { ...plain.rowCounts, 'public.items': ITEMS + 1 },
    });
    const failed = await refusal({ backup: plain.backupId, target: pgUrl(c), createDatabase: true });
    expect(failed.type).toBe(ErrorCode.BackupCorrupt);
    expect(failed.message).toContain(`public.items: backup ${ITEMS + 1}, restored ${ITEMS}`);
    expect(failed.message).toContain('may be partly restored');
  });

  it('backupDatabase with upload, then restores from S3 (asked for, and by :latest once the local copy is gone)', async () => {
    const made = await t.withWorker(async () => {
      const handle = await t.client.workflow.start(BACKUP_DATABASE_WORKFLOW, {
        workflowId: t.workflowId('backup'),
        taskQueue: t.taskQueue,
        args: [{ target: pgUrl(source), upload: true, verify: 'read' }],
      });
      return (await handle.result()) as BackupDatabaseResult;
    }, env);
    expect(made).toMatchObject({ status: 'completed', uploaded: true });
    const backupId = made.backupId ?? '';
    const first = pgName('froms3');
    const second = pgName('froms3_latest');
    pgDatabases.add(first).add(second);

    const result = await restore({ backup: backupId, target: pgUrl(first), from: 's3', createDatabase: true });

    expect(result).toMatchObject({ status: 'completed', backupId, from: 's3', createdDatabase: true });
    expect(await pgCounts(first)).toEqual(await pgCounts(source));
    const downloads = join(config.artifactDir, 'restores');
    expect(existsSync(downloads) ? readdirSync(downloads) : []).toEqual([]);

    await deleteLocal(config, backupId);
    const latest = await restore({
      backup: `${backupId.split('/')[0]}:latest`,
      target: pgUrl(second),
      createDatabase: true,
    });
    expect(latest).toMatchObject({ backupId, from: 's3' });
    expect(latest.counts).toEqual(result.counts);
    expect(existsSync(downloads) ? readdirSync(downloads) : []).toEqual([]);
  });

  it('restores a MySQL backup into a new database', async () => {
    const src = `dbops_rst_${suffix}_my`;
    const dest = `dbops_rst_${suffix}_my_new`;
    const admin: Connection = await createConnection({ uri: SERVERS.mysql, multipleStatements: true });
    try {
      await admin.query(
        `CREATE DATABASE \`${src}\`; USE \`${src}\`;
         CREATE TABLE people (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50), photo BLOB) ENGINE=InnoDB;
         INSERT INTO people (name, photo) VALUES ('ana', UNHEX('00FF10')), ('bo', NULL), ('chloé 😀', UNHEX('CAFE'));
         CREATE TABLE tags (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO tags VALUES (1), (2), (3), (4);`,
      );
      const backup = await makeBackup(config, `mysql://root@127.0.0.1:3306/${src}`);

      const result = await restore({
        backup: backup.backupId,
        target: `mysql://root@127.0.0.1:3306/${dest}`,
        createDatabase: true,
      });

      expect(result).toMatchObject({ status: 'completed', engine: 'mysql', createdDatabase: true });
      expect(result.counts).toEqual([
        { name: 'people', expected: 3, actual: 3 },
        { name: 'tags', expected: 4, actual: 4 },
      ]);
      const [rows] = await admin.query<RowDataPacket[]>(
        `SELECT name, HEX(photo) AS photo FROM \`${dest}\`.people ORDER BY id`,
      );
      expect(rows.map((r) => [r.name, r.photo])).toEqual([
        ['ana', '00FF10'],
        ['bo', null],
        ['chloé 😀', 'CAFE'],
      ]);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS \`${src}\`; DROP DATABASE IF EXISTS \`${dest}\``);
      await admin.end();
    }
  });

  it('restores a Redis backup into another redis-server: every database, binary values, TTLs', async () => {
    const from = await ThrowawayRedis.start(dir);
    const to = await ThrowawayRedis.start(dir);
    const db3 = from.db(3);
    const target3 = to.db(3);
    try {
      const binary = Buffer.from([0, 255, 1, 254, 10, 13]);
      await from.client.set('greeting', 'hello');
      await from.client.set('bytes', binary);
      await from.client.hset('user:1', { name: 'ana', score: '7' });
      await from.client.rpush('queue', 'a', 'b', 'c');
      await from.client.set('session', 'x', 'PX', 600_000);
      await db3.zadd('board', 1, 'one', 2, 'two');
      const backup = await makeBackup(config, from.url());
      expect(backup.keyCounts).toEqual({ db0: 5, db3: 1 });
      await to.client.set('already-here', '1');

      const refused = await refusal({ backup: backup.backupId, target: to.url() });
      expect(refused.type).toBe(ErrorCode.RestoreRefused);
      expect(refused.message).toContain('1 key(s)');
      expect(await to.client.dbsize()).toBe(1);

      const onSource = await refusal({ backup: backup.backupId, target: from.url(5), clean: true });
      expect(onSource.type).toBe(ErrorCode.RestoreRefused);
      expect(onSource.message).toContain('is the database this backup was taken from');

      const result = await restore({ backup: backup.backupId, target: to.url(), clean: true });

      expect(result.counts).toEqual([
        { name: 'db0', expected: 5, actual: 5 },
        { name: 'db3', expected: 1, actual: 1 },
      ]);
      expect(await to.client.exists('already-here')).toBe(0);
      expect(await to.client.get('greeting')).toBe('hello');
      expect(await to.client.getBuffer('bytes')).toEqual(binary);
      expect(await to.client.hgetall('user:1')).toEqual({ name: 'ana', score: '7' });
      expect(await to.client.lrange('queue', 0, -1)).toEqual(['a', 'b', 'c']);
      const ttl = await to.client.pttl('session');
      expect(ttl).toBeGreaterThan(500_000);
      expect(ttl).toBeLessThanOrEqual(600_000);
      expect(await to.client.pttl('greeting')).toBe(-1);
      expect(await target3.zrange('board', 0, -1, 'WITHSCORES')).toEqual(['one', '1', 'two', '2']);
    } finally {
      db3.disconnect();
      target3.disconnect();
      await from.stop();
      await to.stop();
    }
  });

  it('restores a SQLite backup to a new path', async () => {
    const src = join(dir, 'shop.db');
    const db = new Database(src);
    db.exec(`CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, price REAL);
             INSERT INTO products (name, price) VALUES ('pen', 1.5), ('ink', 4.25), ('pad', 3);
             CREATE TABLE orders (id INTEGER PRIMARY KEY, product_id INTEGER REFERENCES products(id));
             INSERT INTO orders (product_id) VALUES (1), (1), (3), (2), (3);`);
    db.close();
    const backup = await makeBackup(config, src);
    const dest = join(dir, 'restored', 'shop-copy.db');

    const result = await restore({ backup: backup.backupId, target: dest, createDatabase: true });

    expect(result).toMatchObject({ engine: 'sqlite', createdDatabase: true });
    expect(result.counts).toEqual([
      { name: 'orders', expected: 5, actual: 5 },
      { name: 'products', expected: 3, actual: 3 },
    ]);
    const copy = new Database(dest, { readonly: true });
    try {
      expect(copy.prepare('SELECT name, price FROM products ORDER BY id').all()).toEqual([
        { name: 'pen', price: 1.5 },
        { name: 'ink', price: 4.25 },
        { name: 'pad', price: 3 },
      ]);
    } finally {
      copy.close();
    }

    const again = await refusal({ backup: backup.backupId, target: dest });
    expect(again.type).toBe(ErrorCode.RestoreRefused);
    expect(again.message).toContain('clean: true (CLI --clean)');
  });
});
