/**
 * The MySQL/MariaDB engine layer of backup and restore against the machine's real MariaDB: a dump that hashes
 * and compresses correctly, row counts taken in the dump's own snapshot (proved with a writer inserting all
 * through the dump), a restore into another database that brings back every byte, routine, trigger and view,
 * and the typed errors a misconfigured target gets.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbopsError, ErrorCode } from '../../common/errors';
import { dumpMysql, type MysqlDump } from '../../activities/mysql/dump';
import {
  createMysqlDatabase,
  dropMysqlDatabase,
  mysqlDatabaseState,
  mysqlRowCounts,
  restoreMysql,
} from '../../activities/mysql/restore';
import { SERVERS } from '../support/servers';

const suffix = randomBytes(4).toString('hex');
const SOURCE = `dbops_t_${suffix}`;
const RESTORED = `dbops_t_${suffix}_r`;
const RESTORED_LIVE = `dbops_t_${suffix}_live`;
const RESTORED_USER = `dbops_t_${suffix}_user`;
const USER = `dbops_t_user_${suffix}`;
// Every character the option-file quoting has to get right.
const USER_PASSWORD = `p#w "q' \\ ;x=1`;
const ROWS = 3000;
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const EMOJI = 'smile 😀 — ünïcødé 漢字 🧪';

const root = { url: SERVERS.mysql };
const at = (db: string): { url: string } => ({ url: `mysql://root@127.0.0.1:3306/${db}` });

let admin: Connection;
let dir: string;
const created = [SOURCE, RESTORED, RESTORED_LIVE, RESTORED_USER];

/** Rejects with the DbopsError a call throws, failing the test when it resolves or throws something else. */
async function dbopsError(promise: Promise<unknown>): Promise<DbopsError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DbopsError);
  return err as DbopsError;
}

/** An order-independent digest of a table's content, computed by the server. */
async function digest(db: string): Promise<RowDataPacket> {
  const [rows] = await admin.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n, SUM(CRC32(CONCAT_WS('|', id, name, IFNULL(note, '<null>'), IFNULL(HEX(payload), '<null>'),
            IFNULL(amount, '<null>'), created_by))) AS crc FROM \`${db}\`.items`,
  );
  return rows[0] as RowDataPacket;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dbops-mysql-test-'));
  admin = await createConnection({ uri: SERVERS.mysql, supportBigNumbers: true, bigNumberStrings: true });
  await createMysqlDatabase(root, SOURCE);
  const q = (sql: string, values?: unknown[]) => admin.query(sql, values);
  await q(`USE \`${SOURCE}\``);
  await q(`CREATE TABLE items (
             id INT AUTO_INCREMENT PRIMARY KEY,
             name VARCHAR(100) NOT NULL,
             note TEXT NULL,
             payload BLOB NULL,
             amount DECIMAL(12,2) NULL,
             created_by VARCHAR(20) NULL
           ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  await q(`CREATE TABLE legacy (id INT PRIMARY KEY, label VARCHAR(20)) ENGINE=MyISAM`);
  await q(`CREATE TABLE empty_one (id INT PRIMARY KEY) ENGINE=InnoDB`);
  await q(
    `CREATE TRIGGER items_bi BEFORE INSERT ON items FOR EACH ROW SET NEW.created_by = COALESCE(NEW.created_by, 'trigger')`,
  );
  await q(`CREATE FUNCTION double_it(x INT) RETURNS INT DETERMINISTIC RETURN x * 2`);
  await q(`CREATE VIEW with_payload AS SELECT id, name FROM items WHERE payload IS NOT NULL`);
  const rows: unknown[][] = [];
  for (let i = 1; i <= ROWS; i++) {
    rows.push([
      i === 1 ? EMOJI : `row ${i}`,
      i % 7 === 0 ? null : `${EMOJI} note ${i}\n\ttab\\slash 'quote'`,
      i === 1 ? ALL_BYTES : i % 5 === 0 ? null : randomBytes(200 + (i % 300)),
      i % 3 === 0 ? null : (i * 1.25).toFixed(2),
    ]);
  }
  for (let i = 0; i < rows.length; i += 500) {
    await q('INSERT INTO items (name, note, payload, amount) VALUES ?', [rows.slice(i, i + 500)]);
  }
  await q(`INSERT INTO legacy VALUES (1, 'a'), (2, 'b'), (3, NULL)`);
  await q('USE test');
});

afterAll(async () => {
  for (const db of created) await dropMysqlDatabase(root, db).catch(() => undefined);
  await admin?.query(`DROP USER IF EXISTS '${USER}'@'%'`).catch(() => undefined);
  await admin?.end();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dumpMysql and restoreMysql', () => {
  let dump: MysqlDump;

  it('dumps one database: hashed gzip file, row counts in the same snapshot, non-InnoDB tables named', async () => {
    const path = join(dir, 'source.sql.gz');
    dump = await dumpMysql(at(SOURCE), path);

    const bytes = readFileSync(path);
    expect(dump.path).toBe(path);
    expect(dump.bytes).toBe(bytes.length);
    expect(dump.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    const sql = gunzipSync(bytes).toString('utf8');
    expect(sql).toContain('CREATE TABLE `items`');
    expect(sql).not.toMatch(/CREATE DATABASE|^USE /m);
    expect(dump.rowCounts).toEqual({ empty_one: 0, items: ROWS, legacy: 3 });
    expect(dump.nonTransactionalTables).toEqual(['legacy']);
    expect(dump.rowCountsConsistent).toBe(true);
    expect(dump.serverVersion).toMatch(/MariaDB/);
    expect(dump.tool).toMatch(/mariadb-dump|mysqldump/);
  });

  it('restores into a fresh database with identical rows, bytes, trigger, routine and view', async () => {
    await createMysqlDatabase(root, RESTORED);
    await restoreMysql(at(RESTORED), dump.path);

    expect(await mysqlRowCounts(root, RESTORED)).toEqual(dump.rowCounts);
    expect(await digest(RESTORED)).toEqual(await digest(SOURCE));
    const [[first]] = (await admin.query(`SELECT name, payload FROM \`${RESTORED}\`.items WHERE id = 1`)) as [
      RowDataPacket[],
      unknown,
    ];
    expect(first?.name).toBe(EMOJI);
    expect(Buffer.compare(first?.payload as Buffer, ALL_BYTES)).toBe(0);

    const [[fn]] = (await admin.query(`SELECT \`${RESTORED}\`.double_it(21) AS v`)) as [RowDataPacket[], unknown];
    expect(Number(fn?.v)).toBe(42);
    const [triggers] = await admin.query<RowDataPacket[]>(
      'SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?',
      [RESTORED],
    );
    expect(triggers.map((t) => t.name)).toEqual(['items_bi']);
    const [[view]] = (await admin.query(`SELECT COUNT(*) AS n FROM \`${RESTORED}\`.with_payload`)) as [
      RowDataPacket[],
      unknown,
    ];
    const [[sourceView]] = (await admin.query(`SELECT COUNT(*) AS n FROM \`${SOURCE}\`.with_payload`)) as [
      RowDataPacket[],
      unknown,
    ];
    expect(Number(view?.n)).toBe(Number(sourceView?.n));
    const [[engine]] = (await admin.query(
      "SELECT ENGINE AS e FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'legacy'",
      [RESTORED],
    )) as [RowDataPacket[], unknown];
    expect(engine?.e).toBe('MyISAM');
    // The trigger works in the restored database too.
    await admin.query(`INSERT INTO \`${RESTORED}\`.items (name) VALUES ('after restore')`);
    const [[made]] = (await admin.query(
      `SELECT created_by FROM \`${RESTORED}\`.items WHERE name = 'after restore'`,
    )) as [RowDataPacket[], unknown];
    expect(made?.created_by).toBe('trigger');

    expect(await mysqlDatabaseState(root, RESTORED)).toEqual({ exists: true, tables: 4 });
  });

  it('counts rows in the dump snapshot while a writer inserts throughout the dump', async () => {
    const writer = await createConnection({ uri: at(SOURCE).url });
    let stop = false;
    let inserted = 0;
    let warmedUp: () => void = () => undefined;
    const warm = new Promise<void>((resolve) => (warmedUp = resolve));
    const loop = (async () => {
      // Keeps inserting until told to stop, then once more: rows land before, during and after the dump.
      for (;;) {
        await writer.query("INSERT INTO items (name, payload) VALUES ('live', REPEAT('x', 300))");
        inserted++;
        if (inserted === 50) warmedUp();
        if (stop) break;
      }
    })();
    try {
      await warm;
      const live = await dumpMysql(at(SOURCE), join(dir, 'live.sql.gz'));
      stop = true;
      await loop;
      expect(live.rowCountsConsistent).toBe(true);
      const items = live.rowCounts.items ?? 0;
      const after = await mysqlRowCounts(root, SOURCE);
      expect(items).toBeGreaterThan(ROWS + 50 - 1); // the warm-up rows are in the dump
      expect(after.items).toBeGreaterThan(items); // and the writer went on after its snapshot

      await createMysqlDatabase(root, RESTORED_LIVE);
      await restoreMysql(at(RESTORED_LIVE), live.path);
      expect((await mysqlRowCounts(root, RESTORED_LIVE)).items).toBe(items);
    } finally {
      stop = true;
      await loop.catch(() => undefined);
      await writer.end();
    }
  });

  it('works for a user without RELOAD (counts not snapshot-bound) whose password needs option-file quoting', async () => {
    await admin.query(`CREATE USER '${USER}'@'%' IDENTIFIED BY ?`, [USER_PASSWORD]);
    await admin.query(
      `GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, CREATE, DROP, INSERT, ALTER, CREATE VIEW, CREATE ROUTINE, ALTER ROUTINE, EXECUTE ON \`${SOURCE}\`.* TO '${USER}'@'%'`,
    );
    await admin.query(`GRANT SELECT ON mysql.proc TO '${USER}'@'%'`);
    const server = { url: `mysql://${USER}@127.0.0.1:3306/${SOURCE}`, password: USER_PASSWORD };
    const path = join(dir, 'user.sql.gz');
    const dumped = await dumpMysql(server, path);
    expect(dumped.rowCountsConsistent).toBe(false);
    expect(dumped.rowCounts.legacy).toBe(3);
    expect(gunzipSync(readFileSync(path)).toString('utf8')).not.toContain(USER_PASSWORD);

    await createMysqlDatabase(root, RESTORED_USER);
    await restoreMysql(at(RESTORED_USER), path);
    expect((await mysqlRowCounts(root, RESTORED_USER)).legacy).toBe(3);
  });

  it('names the failure: unknown database, closed port, wrong password, corrupt file', async () => {
    const missing = `dbops_t_${suffix}_missing`;
    expect((await dbopsError(dumpMysql(at(missing), join(dir, 'x.sql.gz')))).code).toBe(ErrorCode.DatabaseMissing);
    expect((await dbopsError(restoreMysql(at(missing), dump.path))).code).toBe(ErrorCode.DatabaseMissing);
    expect(await mysqlDatabaseState(root, missing)).toEqual({ exists: false, tables: 0 });

    const closed = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const unreachable = await dbopsError(dumpMysql({ url: `mysql://root@127.0.0.1:${closed}/test` }, join(dir, 'y')));
    expect(unreachable.code).toBe(ErrorCode.Unreachable);
    expect(unreachable.retryable).toBe(true);

    const wrong = await dbopsError(
      dumpMysql({ url: `mysql://${USER}@127.0.0.1:3306/${SOURCE}`, password: 'not-it' }, join(dir, 'z')),
    );
    expect(wrong.code).toBe(ErrorCode.AuthFailed);
    expect(wrong.message).not.toContain('not-it');
    await admin.query(`DROP USER '${USER}'@'%'`);

    const corrupt = join(dir, 'corrupt.sql.gz');
    writeFileSync(corrupt, readFileSync(dump.path).subarray(0, 2000));
    await dropMysqlDatabase(root, RESTORED_USER);
    await createMysqlDatabase(root, RESTORED_USER);
    expect((await dbopsError(restoreMysql(at(RESTORED_USER), corrupt))).code).toBe(ErrorCode.BackupCorrupt);

    expect((await dbopsError(createMysqlDatabase(root, SOURCE))).code).toBe(ErrorCode.ScratchExists);
    expect((await dbopsError(createMysqlDatabase(root, 'bad`name'))).code).toBe(ErrorCode.BadInput);
  });
});
