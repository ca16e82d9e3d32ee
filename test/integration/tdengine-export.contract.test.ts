/**
 * Contract test of the TDengine schema-and-counts export against a local HTTP stub answering in taosAdapter's
 * documented REST shape (`{code: 0, column_meta, data, rows}` on success, `{code, desc}` on errors, 401 for bad
 * credentials). No TDengine server runs on this machine: this proves the statements we send, how the answers
 * become `tdengine-schema.sql` and `tdengine-rowcounts.json`, and that every failure is a mapped DbopsError that
 * leaves no file behind.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportTdengine, TDENGINE_ROWCOUNTS_FILE, TDENGINE_SCHEMA_FILE } from '../../activities/tdengine/export';
import { DbopsError, ErrorCode } from '../../common/errors';

type Meta = [string, string, number][];
type Answer = { status: number; body: string } | 'hang';

const ok = (meta: Meta, data: unknown[][]): Answer => ({
  status: 200,
  body: JSON.stringify({ code: 0, column_meta: meta, data, rows: data.length }),
});
const fail = (code: number, desc: string): Answer => ({ status: 200, body: JSON.stringify({ code, desc }) });
const name = (column: string): Meta => [[column, 'VARCHAR', 64]];
const create = (kind: 'Database' | 'Table'): Meta => [
  [kind, 'VARCHAR', 64],
  [`Create ${kind}`, 'VARCHAR', 65536],
];
const count: Meta = [['count(*)', 'BIGINT', 8]];

const CREATE_POWER =
  "CREATE DATABASE `power` BUFFER 256 CACHESIZE 1 CACHEMODEL 'none' COMP 2 DURATION 14400m WAL_FSYNC_PERIOD 3000 MAXROWS 4096 MINROWS 100 KEEP 5256000m,5256000m,5256000m PAGES 256 PAGESIZE 4 PRECISION 'ms' REPLICA 1 WAL_LEVEL 1 VGROUPS 2 SINGLE_STABLE 0";
const CREATE_METERS =
  'CREATE STABLE `meters` (`ts` TIMESTAMP, `current` FLOAT, `voltage` INT, `phase` FLOAT) TAGS (`groupid` INT, `location` VARCHAR(24))';
const CREATE_EVENTS = 'CREATE STABLE `events` (`ts` TIMESTAMP, `code` INT) TAGS (`site` NCHAR(16))';
const CREATE_NOTES = 'CREATE TABLE `notes` (`ts` TIMESTAMP, `body` NCHAR(200))';
const CREATE_LAB = "CREATE DATABASE `lab` PRECISION 'us' REPLICA 1";
const CREATE_READINGS = 'CREATE TABLE `readings` (`ts` TIMESTAMP, `v` DOUBLE)';

/** The answers of a small server: databases power and lab next to the system ones. */
function estate(sql: string): Answer | undefined {
  const answers: Record<string, Answer> = {
    'SELECT SERVER_VERSION()': ok([['server_version()', 'VARCHAR', 8]], [['3.3.6.0']]),
    'SELECT name FROM information_schema.ins_databases': ok(name('name'), [
      ['information_schema'],
      ['performance_schema'],
      ['power'],
      ['log'],
      ['audit'],
      ['lab'],
    ]),
    'SHOW CREATE DATABASE `power`': ok(create('Database'), [['power', CREATE_POWER]]),
    'SHOW CREATE DATABASE `lab`': ok(create('Database'), [['lab', CREATE_LAB]]),
    "SELECT stable_name FROM information_schema.ins_stables WHERE db_name = 'power'": ok(name('stable_name'), [
      ['meters'],
      ['events'],
    ]),
    "SELECT stable_name FROM information_schema.ins_stables WHERE db_name = 'lab'": ok(name('stable_name'), []),
    "SELECT table_name FROM information_schema.ins_tables WHERE db_name = 'power' AND type = 'NORMAL_TABLE'": ok(
      name('table_name'),
      [['notes']],
    ),
    "SELECT table_name FROM information_schema.ins_tables WHERE db_name = 'lab' AND type = 'NORMAL_TABLE'": ok(
      name('table_name'),
      [['readings']],
    ),
    'SHOW CREATE STABLE `power`.`meters`': ok(create('Table'), [['meters', CREATE_METERS]]),
    'SHOW CREATE STABLE `power`.`events`': ok(create('Table'), [['events', CREATE_EVENTS]]),
    'SHOW CREATE TABLE `power`.`notes`': ok(create('Table'), [['notes', CREATE_NOTES]]),
    'SHOW CREATE TABLE `lab`.`readings`': ok(create('Table'), [['readings', CREATE_READINGS]]),
    'SELECT COUNT(*) FROM `power`.`meters`': ok(count, [[1_234_567]]),
    // A supertable without child tables answers COUNT(*) with no row at all.
    'SELECT COUNT(*) FROM `power`.`events`': ok(count, []),
    'SELECT COUNT(*) FROM `power`.`notes`': ok(count, [[3]]),
    'SELECT COUNT(*) FROM `lab`.`readings`': ok(count, [[42]]),
  };
  return answers[sql];
}

interface Stub {
  url: string;
  port: number;
  requests: { path: string; authorization: string | undefined; sql: string }[];
  close(): Promise<void>;
}

const stubs: Stub[] = [];

/** taosAdapter on a free local port: `answer` (else {@link estate}) decides each reply; unknown SQL is a syntax error. */
async function stub(answer: (sql: string) => Answer | undefined = estate): Promise<Stub> {
  const requests: Stub['requests'] = [];
  const server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const sql = Buffer.concat(chunks).toString('utf8');
      requests.push({ path: req.url ?? '', authorization: req.headers.authorization, sql });
      const reply = answer(sql) ?? estate(sql) ?? fail(0x2600, `syntax error near "${sql.slice(0, 20)}"`);
      if (reply === 'hang') return;
      res.writeHead(reply.status, { 'Content-Type': 'application/json' });
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const s: Stub = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  stubs.push(s);
  return s;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dbops-td-export-'));
});
afterEach(async () => {
  await Promise.all(stubs.splice(0).map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

const PASSWORD = 'taos-Export-7';
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** The DbopsError an export fails with (the test fails if it succeeds). */
async function rejection(call: Promise<unknown>): Promise<DbopsError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DbopsError);
  return err as DbopsError;
}

describe('TDengine export contract (local stub in the documented shape)', () => {
  it('writes every CREATE statement of the user databases and exact counts, each file with its sha256', async () => {
    const s = await stub();
    const out = join(dir, 'tdengine');

    const result = await exportTdengine({ url: s.url, user: 'root', password: PASSWORD }, out);

    expect(result.databases).toEqual(['lab', 'power']);
    expect(result.rowCounts).toEqual({
      'lab.readings': 42,
      'power.events': 0,
      'power.meters': 1_234_567,
      'power.notes': 3,
    });
    expect(readdirSync(out).sort()).toEqual([TDENGINE_ROWCOUNTS_FILE, TDENGINE_SCHEMA_FILE]);
    expect(result.files.map((f) => f.name)).toEqual([TDENGINE_SCHEMA_FILE, TDENGINE_ROWCOUNTS_FILE]);
    for (const file of result.files) {
      const data = readFileSync(join(out, file.name));
      expect(file).toEqual({ name: file.name, bytes: data.length, sha256: sha256(data) });
    }

    const schema = readFileSync(join(out, TDENGINE_SCHEMA_FILE), 'utf8');
    expect(schema).toContain('-- Server version: 3.3.6.0');
    expect(schema).toMatch(/No rows.*\n.*taosdump/);
    // Databases and tables in name order, each statement terminated, tables after their database's USE.
    const statements = schema
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('--'))
      .join('\n');
    expect(statements).toBe(
      [
        `${CREATE_LAB};`,
        'USE `lab`;',
        `${CREATE_READINGS};`,
        `${CREATE_POWER};`,
        'USE `power`;',
        `${CREATE_EVENTS};`,
        `${CREATE_METERS};`,
        `${CREATE_NOTES};`,
      ].join('\n'),
    );
    expect(schema).not.toMatch(/information_schema|performance_schema|`log`|`audit`/);

    const counts = JSON.parse(readFileSync(join(out, TDENGINE_ROWCOUNTS_FILE), 'utf8')) as Record<string, unknown>;
    expect(counts).toMatchObject({
      host: `127.0.0.1:${s.port}`,
      serverVersion: '3.3.6.0',
      exact: true,
      supertables: { 'power.events': 0, 'power.meters': 1_234_567 },
      tables: { 'lab.readings': 42, 'power.notes': 3 },
      rowCounts: result.rowCounts,
    });

    // Only documented REST requests, authenticated; the system databases are never asked about.
    for (const r of s.requests) {
      expect(r.path).toBe('/rest/sql');
      expect(r.authorization).toBe(`Basic ${Buffer.from(`root:${PASSWORD}`).toString('base64')}`);
    }
    const sent = s.requests.map((r) => r.sql);
    expect(sent.filter((q) => /`(log|audit|information_schema|performance_schema)`/.test(q))).toEqual([]);
    expect(sent.filter((q) => q.startsWith('SELECT COUNT(*)'))).toHaveLength(4);
  });

  it('writes an empty schema, and no counts, for a server with only system databases', async () => {
    const s = await stub((sql) =>
      sql === 'SELECT name FROM information_schema.ins_databases'
        ? ok(name('name'), [['information_schema'], ['performance_schema'], ['log']])
        : undefined,
    );

    const result = await exportTdengine({ url: s.url }, dir);

    expect(result.databases).toEqual([]);
    expect(result.rowCounts).toEqual({});
    expect(readFileSync(join(dir, TDENGINE_SCHEMA_FILE), 'utf8')).toContain('-- No user databases.');
  });

  it('maps rejected credentials to AuthFailed and writes nothing', async () => {
    const s = await stub(() => ({ status: 401, body: JSON.stringify({ code: 0xffff, desc: 'Unauthorized' }) }));

    const err = await rejection(exportTdengine({ url: s.url, password: 'wrong-Secret-1' }, dir));

    expect(err.code).toBe(ErrorCode.AuthFailed);
    expect(err.message).not.toContain('wrong-Secret-1');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('maps an error code of the server (HTTP 200, code != 0) and writes nothing', async () => {
    const s = await stub((sql) =>
      sql === 'SHOW CREATE DATABASE `lab`' ? fail(0x80000388, 'Database not exist') : undefined,
    );

    const err = await rejection(exportTdengine({ url: s.url }, dir));

    expect(err.code).toBe(ErrorCode.DatabaseMissing);
    expect(err.message).toMatch(/Database not exist \(code 0x0388\)/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('fails on a count that fails (a table dropped meanwhile), leaving no file', async () => {
    const s = await stub((sql) =>
      sql === 'SELECT COUNT(*) FROM `power`.`notes`' ? fail(0x80002662, 'Table does not exist') : undefined,
    );

    const err = await rejection(exportTdengine({ url: s.url }, join(dir, 'out')));

    expect(err.code).toBe(ErrorCode.BadInput);
    expect(err.message).toContain('Table does not exist');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('maps a refused connection and a statement over its timeout to Unreachable', async () => {
    const closed = await stub();
    await closed.close();
    const refused = await rejection(exportTdengine({ url: closed.url }, dir));
    expect(refused.code).toBe(ErrorCode.Unreachable);
    expect(refused.message).toMatch(/cannot connect/);

    const s = await stub((sql) => (sql === 'SELECT COUNT(*) FROM `power`.`meters`' ? 'hang' : undefined));
    const slow = await rejection(exportTdengine({ url: s.url }, dir, { timeoutMs: 300 }));
    expect(slow.code).toBe(ErrorCode.Unreachable);
    expect(slow.message).toMatch(/no answer within 300 ms/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('stops before any request when the signal is already aborted', async () => {
    const s = await stub();
    const err = await exportTdengine({ url: s.url }, dir, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(s.requests).toEqual([]);
  });
});
