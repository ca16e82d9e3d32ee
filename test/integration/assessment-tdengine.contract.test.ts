/**
 * `assessEstate` over an estate that includes TDengine, end to end on a test worker: a SQLite file, a PostgreSQL
 * database of the test's own, and a local stub of taosAdapter's REST API (test/support/tdengine-stub.ts) that
 * answers in the documented shape from a small model — database `power` with the supertable `meters` of
 * 6,000,000,000 rows and a normal table. No TDengine server runs here, so this proves our side of the contract
 * through the whole job: the password comes from the host-keyed passfile, the health step reads the cluster and
 * its volume, the plan keeps TDengine (Plan B) because `meters` is over the rules' row limit, the POC copies the
 * shape of `power.meters`, the estate archive carries the TDengine schema export, and nothing but reads reached
 * the TDengine endpoint.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { list, type ReadEntry } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assessTdengine, tdengineLivePatterns } from '../../activities/tdengine/assess';
import { exportTdengine } from '../../activities/tdengine/export';
import { TdengineRest } from '../../activities/tdengine/rest';
import { createS3Client, ensureBucket } from '../../activities/s3/client';
import { ASSESSMENT_RULES } from '../../common/assessment/rules';
import { ASSESS_WORKFLOW, type AssessResult } from '../../common/contracts/assessment';
import { ErrorCode } from '../../common/errors';
import { dropBucket } from '../support/backup';
import { TestDatabase } from '../support/migration';
import { startTdengineStub, type TdengineStub, type TdengineStubModel } from '../support/tdengine-stub';
import { testConfig, TestTemporal, uniqueName } from '../support/temporal';

const USER = 'assessor';
const PASSWORD = 'td-Stub-Secret-8';
const METERS_ROWS = 6_000_000_000;

/** The estate behind the stub: TDengine's own smart-meter example, far over the plan's row limit. */
const MODEL: TdengineStubModel = {
  version: '3.3.6.0',
  databases: [
    {
      name: 'power',
      vgroups: 2,
      supertables: [
        {
          name: 'meters',
          columns: [
            { name: 'ts', type: 'TIMESTAMP' },
            { name: 'current', type: 'FLOAT' },
            { name: 'voltage', type: 'INT' },
            { name: 'phase', type: 'FLOAT' },
          ],
          tags: [
            { name: 'groupid', type: 'INT' },
            { name: 'location', type: 'BINARY(24)' },
          ],
          rows: METERS_ROWS,
          childTables: 3,
        },
      ],
      tables: [
        {
          name: 'notes',
          columns: [
            { name: 'ts', type: 'TIMESTAMP' },
            { name: 'body', type: 'NCHAR(200)' },
          ],
          rows: 12,
        },
      ],
    },
  ],
  queries: [{ sql: "SELECT AVG(current) FROM power.meters WHERE location = 'SF' INTERVAL(1m)", execUsec: 2_000_000 }],
};

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const WRITE = /^\s*(INSERT|CREATE|DROP|ALTER|DELETE)\b/i;

/** Every file path in a .tar.gz, and the text of the ones `keep` names. */
async function readArchive(
  file: string,
  keep: (path: string) => boolean,
): Promise<{ paths: string[]; texts: Record<string, string> }> {
  const paths: string[] = [];
  const chunks: Record<string, Buffer[]> = {};
  await list({
    file,
    onReadEntry: (entry: ReadEntry) => {
      paths.push(entry.path);
      if (keep(entry.path)) {
        const parts: Buffer[] = (chunks[entry.path] = []);
        entry.on('data', (c: Buffer) => parts.push(c));
      }
    },
  });
  return {
    paths,
    texts: Object.fromEntries(Object.entries(chunks).map(([p, parts]) => [p, Buffer.concat(parts).toString('utf8')])),
  };
}

describe('assessEstate with TDengine (local stub in the documented REST shape)', () => {
  let t: TestTemporal;
  const pg = new TestDatabase();
  const bucket = uniqueName('dbops-assess-td');
  const dir = mkdtempSync(join(tmpdir(), 'dbops-assess-td-'));
  let stub: TdengineStub;
  let env: Record<string, string>;
  let sqlitePath: string;

  beforeAll(async () => {
    t = await TestTemporal.connect();
    await pg.create();
    await pg.query("CREATE TABLE sites (id int PRIMARY KEY, name text); INSERT INTO sites VALUES (1, 'north');");
    sqlitePath = pg.sqliteFixture(
      'devices.db',
      "CREATE TABLE devices (id INTEGER PRIMARY KEY, location TEXT); INSERT INTO devices VALUES (1, 'SF');",
    );
    stub = await startTdengineStub(MODEL, { user: USER, password: PASSWORD });
    // The worker runs in this process and reads the passfile from its environment; 0600 or it is ignored.
    const passfile = join(dir, 'tdengine.pass');
    writeFileSync(passfile, `127.0.0.1:${stub.port}:*:${USER}:${PASSWORD}\n`, { mode: 0o600 });
    chmodSync(passfile, 0o600);
    process.env.DBOPS_TDENGINE_PASSFILE = passfile;
    env = { DBOPS_ARTIFACT_DIR: join(dir, 'artifacts'), DBOPS_S3_BUCKET: bucket };
    const s3 = createS3Client(testConfig(t.taskQueue, env).s3);
    await ensureBucket(s3, bucket);
    s3.destroy();
  });

  afterAll(async () => {
    await t?.cleanup();
    await stub?.close();
    if (env) {
      const s3 = createS3Client(testConfig('x', env).s3);
      await dropBucket(s3, bucket);
      s3.destroy();
    }
    await pg.drop();
    rmSync(dir, { recursive: true, force: true });
    delete process.env.DBOPS_TDENGINE_PASSFILE;
  });

  it('the stub answers every statement of the assessment, live patterns and export, and refuses the rest', async () => {
    const own = await startTdengineStub(MODEL, { user: USER, password: PASSWORD });
    try {
      const endpoint = { url: `http://127.0.0.1:${own.port}`, user: USER, password: PASSWORD };
      const assessed = await assessTdengine(endpoint, 'td', ASSESSMENT_RULES);
      await tdengineLivePatterns(endpoint);
      const exported = await exportTdengine(endpoint, join(dir, 'stub-export'));
      expect(assessed.supertables.map((s) => [s.db, s.name, s.rows, s.rowsExact])).toEqual([
        ['power', 'meters', METERS_ROWS, true],
      ]);
      expect(assessed.supertables[0]?.tags).toEqual([
        { name: 'groupid', type: 'INT' },
        { name: 'location', type: 'VARCHAR(24)' },
      ]);
      expect(exported.rowCounts).toEqual({ 'power.meters': METERS_ROWS, 'power.notes': 12 });
      expect(own.requests.filter((r) => r.status !== 200 || r.code !== 0).map((r) => r.sql)).toEqual([]);

      const rest = new TdengineRest(endpoint);
      await expect(rest.query('INSERT INTO power.d1 VALUES (NOW, 1.0, 220, 0.3)')).rejects.toMatchObject({
        code: ErrorCode.BadInput,
        message: expect.stringContaining('syntax error (code 0x2600)') as string,
      });
      await expect(rest.query('SELECT 1', 'nowhere')).rejects.toMatchObject({ code: ErrorCode.DatabaseMissing });
      await expect(
        new TdengineRest({ ...endpoint, password: 'wrong-Secret-1' }).query('SELECT SERVER_VERSION()'),
      ).rejects.toMatchObject({ code: ErrorCode.AuthFailed });
      expect(own.requests.slice(-3).map((r) => [r.status, r.code])).toEqual([
        [200, 0x2600],
        [200, 0x0388],
        [401, 0x0357],
      ]);
    } finally {
      await own.close();
    }
  });

  it('assesses TDengine with the passfile password, keeps it by Plan B, shapes the POC and archives its schema, reading only', async () => {
    const tdName = `tdengine-127.0.0.1-${stub.port}`;
    const result = await t.withWorker(
      () =>
        t.client.workflow.execute(ASSESS_WORKFLOW, {
          taskQueue: t.taskQueue,
          workflowId: t.workflowId('assess-td'),
          args: [
            {
              targets: [sqlitePath, stub.url, pg.url],
              windowSeconds: 1,
              probeRuns: 2,
              poc: true,
              pocRows: 20_000,
            },
          ],
        }) as Promise<AssessResult>,
      env,
    );

    expect(result.status).toBe('completed');
    const td = result.databases.find((d) => d.engine === 'tdengine');
    expect(td).toMatchObject({ target: tdName, up: true, version: '3.3.6.0' });
    expect(Object.fromEntries((td?.findings ?? []).map((f) => [f.id, [f.severity, f.value]]))).toEqual({
      'td.reachable': ['ok', '3.3.6.0'],
      'td.cluster_alive': ['ok', 1],
      'td.dnodes': ['ok', 0],
      'td.vgroups': ['ok', 0],
      'td.databases': ['ok', 0],
      'td.replica': ['info', 1],
      'td.long_queries': ['ok', 2],
    });
    expect(td?.volume?.tables).toEqual([
      expect.objectContaining({ name: 'power.meters', rows: METERS_ROWS, rowsExact: true }),
    ]);
    expect(result.databases.filter((d) => d.engine !== 'tdengine').map((d) => [d.engine, d.up])).toEqual([
      ['sqlite', true],
      ['postgres', true],
    ]);

    // Plan B: 6 B rows is over the 5 B rows limit, so TDengine stays.
    expect(ASSESSMENT_RULES.plan.tsdbMaxRowsForPostgres).toBe(5_000_000_000);
    expect(result.plan?.id).toBe('B');
    expect(result.plan?.title).toBe('PostgreSQL + TDengine: keep what the rules say cannot move');
    expect(result.plan?.reasons).toContain(
      `TDengine power.meters (${tdName}): 6 B rows > 5 B rows limit, ingest rate not measured (limit 100,000 rows/s): too big for PostgreSQL`,
    );

    // The POC ran on the PostgreSQL, shaped like power.meters.
    expect(result.poc?.rows).toBe(20_000);
    const poc = readFileSync(result.reports['POC_VALIDATION_REPORT.md'] ?? '', 'utf8');
    expect(poc).toContain(
      `Shape copied from ${tdName} \`power.meters\` (${METERS_ROWS.toLocaleString('en-US')} rows there).`,
    );
    // The same probes timed on the source, over REST, beside PostgreSQL's.
    expect(poc).toMatch(/\| last_hour_one_device \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \d+ \| [\d.]+ \| 2 \|/);
    expect(poc).toMatch(/\| day_hourly_by_device \| .* \| [\d.]+ \| 2 \|/);
    expect(poc).not.toContain('could not be run on the source');
    const left = await pg.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_namespace WHERE nspname LIKE 'dbops\\_poc\\_%'",
    );
    expect(Number(left[0]?.n)).toBe(0);

    // The live statement SHOW QUERIES reported, in the JSON report.
    const json = JSON.parse(
      readFileSync(result.reports[`database_assessment_${result.timestamp}.json`] ?? '', 'utf8'),
    ) as { patterns: Record<string, { text: string; kind: string; tables: string[] }[]> };
    expect(json.patterns[tdName]).toEqual([
      expect.objectContaining({
        text: 'SELECT AVG(current) FROM power.meters WHERE location = ? INTERVAL(1m)',
        kind: 'tdengine',
        tables: ['power.meters'],
      }),
    ]);

    // The estate archive: both backups, and the TDengine schema and counts exported over REST.
    expect(result.backup?.failed).toEqual([]);
    expect(result.backup?.backupIds).toHaveLength(2);
    const archivePath = result.backup?.archive?.path ?? '';
    expect(existsSync(archivePath)).toBe(true);
    const schemaName = `tdengine/${tdName}/tdengine-schema.sql`;
    const countsName = `tdengine/${tdName}/tdengine-rowcounts.json`;
    const archive = await readArchive(archivePath, (p) => p === schemaName || p === countsName);
    expect(archive.paths).toEqual(expect.arrayContaining([schemaName, countsName]));
    const schema = archive.texts[schemaName] ?? '';
    expect(schema).toContain(
      'CREATE STABLE `meters` (`ts` TIMESTAMP, `current` FLOAT, `voltage` INT, `phase` FLOAT) TAGS (`groupid` INT, `location` VARCHAR(24));',
    );
    expect(schema).toContain('CREATE TABLE `notes` (`ts` TIMESTAMP, `body` NCHAR(200));');
    expect(JSON.parse(archive.texts[countsName] ?? '{}')).toMatchObject({
      rowCounts: { 'power.meters': METERS_ROWS, 'power.notes': 12 },
    });

    // What reached TDengine: authenticated with the passfile's password, every statement answered, no write.
    expect(stub.requests.length).toBeGreaterThan(10);
    expect(stub.requests.filter((r) => r.authorization !== basic(USER, PASSWORD))).toEqual([]);
    expect(stub.requests.filter((r) => r.status !== 200 || r.code !== 0).map((r) => r.sql)).toEqual([]);
    expect(stub.requests.filter((r) => WRITE.test(r.sql)).map((r) => r.sql)).toEqual([]);
    const sent = new Set(stub.requests.map((r) => r.sql));
    for (const sql of [
      'SHOW CLUSTER ALIVE',
      'SELECT COUNT(*) FROM `power`.`meters`',
      'SHOW QUERIES',
      'SHOW CREATE STABLE `power`.`meters`',
    ])
      expect(sent.has(sql), sql).toBe(true);
  }, 240_000);
});
