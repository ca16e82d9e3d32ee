/**
 * Contract test of the TDengine REST client and assessment against a local HTTP stub that answers in taosAdapter's
 * documented shapes: `{code: 0, column_meta, data, rows}` on success, `{code, desc}` with HTTP 200 on errors, 401
 * for bad credentials. No TDengine server exists on this machine, so this proves our side of the contract (the
 * requests we send, how we read the answers); tdengine-live.test.ts runs against a real server when one is given.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { assessTdengine, normaliseSql, tdengineLivePatterns, tdengineTables } from '../../activities/tdengine/assess';
import { parseJsonKeepingBigIntegers, parseTdengineUrl, TdengineRest } from '../../activities/tdengine/rest';
import { DbopsError } from '../../common/errors';

interface Recorded {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

interface Stub {
  port: number;
  requests: Recorded[];
  close(): Promise<void>;
}

/** An HTTP server on a free port that hands every request (with its full body) to `answer`. */
async function startStub(answer: (req: Recorded, res: ServerResponse) => void): Promise<Stub> {
  const requests: Recorded[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: Recorded = {
        method: req.method ?? '',
        path: req.url ?? '',
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      answer(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const stubs: Stub[] = [];
afterEach(async () => {
  await Promise.all(stubs.splice(0).map((s) => s.close()));
});

async function stub(answer: (req: Recorded, res: ServerResponse) => void): Promise<Stub> {
  const s = await startStub(answer);
  stubs.push(s);
  return s;
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(body);
}

type Meta = [string, string, number][];
const ok = (meta: Meta, data: unknown[][]): string =>
  JSON.stringify({ code: 0, column_meta: meta, data, rows: data.length });
const fail = (code: number, desc: string): string => JSON.stringify({ code, desc });

const PASSWORD = 'taos-Secret-9';

/** The DbopsError a call fails with (the test fails if it succeeds). */
async function rejection(call: Promise<unknown>): Promise<DbopsError> {
  try {
    await call;
  } catch (err) {
    expect(err).toBeInstanceOf(DbopsError);
    return err as DbopsError;
  }
  throw new Error('expected the call to fail');
}
const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('TDengine REST contract (local stub in the documented shape)', () => {
  it('sends the SQL as the raw body with Basic auth and the database in the path, and types the columns', async () => {
    // Written as text: 9223372036854775807 must reach the client as the digits, not as a JS number.
    const body =
      '{"code":0,"column_meta":[["ts","TIMESTAMP",8],["big","BIGINT",8],["small","BIGINT",8],["ubig","BIGINT UNSIGNED",8],' +
      '["name","NCHAR",32],["bin","VARBINARY",20],["cur","FLOAT",4],["on","BOOL",1],["n","INT",4],["d","DECIMAL(8, 4)",8]],' +
      '"data":[["2022-06-29T05:50:55.401Z",9223372036854775807,42,18446744073709551615,"北京","7F8290",10.3,true,219,"1234.5678"],' +
      '["2022-06-29T13:50:55.401123456+08:00",-9007199254740993,-7,0,null,null,null,false,null,null]],"rows":2}';
    const s = await stub((_req, res) => send(res, 200, body));
    const client = new TdengineRest({ url: `http://127.0.0.1:${s.port}`, user: 'root', password: PASSWORD });

    const sql = "SELECT * FROM meters WHERE location = 'California.SanFrancisco' LIMIT 2";
    const result = await client.query(sql, 'power');

    expect(s.requests).toEqual([
      {
        method: 'POST',
        path: '/rest/sql/power',
        authorization: basic('root', PASSWORD),
        contentType: 'text/plain; charset=utf-8',
        body: sql,
      },
    ]);
    expect(result.columns).toEqual([
      { name: 'ts', type: 'TIMESTAMP', length: 8 },
      { name: 'big', type: 'BIGINT', length: 8 },
      { name: 'small', type: 'BIGINT', length: 8 },
      { name: 'ubig', type: 'BIGINT UNSIGNED', length: 8 },
      { name: 'name', type: 'NCHAR', length: 32 },
      { name: 'bin', type: 'VARBINARY', length: 20 },
      { name: 'cur', type: 'FLOAT', length: 4 },
      { name: 'on', type: 'BOOL', length: 1 },
      { name: 'n', type: 'INT', length: 4 },
      { name: 'd', type: 'DECIMAL(8, 4)', length: 8 },
    ]);
    expect(result.rows).toEqual([
      {
        ts: '2022-06-29T05:50:55.401Z',
        big: '9223372036854775807',
        small: 42,
        ubig: '18446744073709551615',
        name: '北京',
        bin: '7f8290',
        cur: 10.3,
        on: true,
        n: 219,
        d: '1234.5678',
      },
      {
        // +08:00 → UTC, nanoseconds kept.
        ts: '2022-06-29T05:50:55.401123456Z',
        big: '-9007199254740993',
        small: -7,
        ubig: 0,
        name: null,
        bin: null,
        cur: null,
        on: false,
        n: null,
        d: null,
      },
    ]);
  });

  it('posts to /rest/sql without a database, and takes user and database from a tdengine:// URL', async () => {
    const s = await stub((_req, res) => send(res, 200, ok([['affected_rows', 'INT', 4]], [[0]])));
    await new TdengineRest({ url: `http://127.0.0.1:${s.port}`, password: PASSWORD }).query('CREATE DATABASE demo');
    await new TdengineRest({ url: `tdengine://reader@127.0.0.1:${s.port}/power`, password: PASSWORD }).query(
      'SELECT COUNT(*) FROM meters',
    );
    expect(s.requests.map((r) => [r.path, r.authorization, r.body])).toEqual([
      ['/rest/sql', basic('root', PASSWORD), 'CREATE DATABASE demo'],
      ['/rest/sql/power', basic('reader', PASSWORD), 'SELECT COUNT(*) FROM meters'],
    ]);
  });

  it('turns an HTTP 200 answer with code != 0 into a typed error with the description and the hex code', async () => {
    const s = await stub((req, res) => {
      if (req.path === '/rest/sql/nodb') send(res, 200, fail(0x0388, 'Database not exist'));
      else send(res, 200, fail(9728, 'syntax error near "1"'));
    });
    const client = new TdengineRest({ url: `http://127.0.0.1:${s.port}`, password: PASSWORD });

    const syntax = await client.query('SELEC 1').catch((e: unknown) => e);
    expect(syntax).toBeInstanceOf(DbopsError);
    expect(syntax).toMatchObject({
      code: 'DBOPS_BAD_INPUT',
      retryable: false,
      message: `TDengine 127.0.0.1:${s.port}: syntax error near "1" (code 0x2600)`,
    });

    await expect(client.query('SELECT 1', 'nodb')).rejects.toMatchObject({
      code: 'DBOPS_DATABASE_MISSING',
      message: `TDengine 127.0.0.1:${s.port}: Database not exist (code 0x0388)`,
    });
  });

  it('reports 401 as AuthFailed without the password', async () => {
    const s = await stub((_req, res) => send(res, 401, fail(0x0357, 'Authentication failure')));
    const err = await rejection(
      new TdengineRest({ url: `http://root@127.0.0.1:${s.port}`, password: PASSWORD }).query('SELECT SERVER_VERSION()'),
    );
    expect(err).toMatchObject({ code: 'DBOPS_AUTH_FAILED', retryable: false });
    expect(err.message).toMatch(/authentication failed \(HTTP 401: Authentication failure\)/);
    expect(err.message).not.toContain(PASSWORD);
  });

  it('gives up on a request that never answers after timeoutMs, as Unreachable (retryable)', async () => {
    let arrived!: () => void;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    const s = await stub(() => arrived()); // never answers
    const client = new TdengineRest({ url: `http://127.0.0.1:${s.port}`, password: PASSWORD, timeoutMs: 300 });
    const [err] = await Promise.all([client.query('SELECT SERVER_VERSION()').catch((e: unknown) => e), requestArrived]);
    expect(err).toMatchObject({
      code: 'DBOPS_UNREACHABLE',
      retryable: true,
      message: `TDengine 127.0.0.1:${s.port}: no answer within 300 ms; is taosAdapter running and reachable?`,
    });
  });

  it('reports a refused connection as Unreachable (retryable), without the password', async () => {
    const closed = await startStub(() => undefined);
    await closed.close(); // the port is now free: nothing listens there
    const err = await rejection(
      new TdengineRest({ url: `http://root:${PASSWORD}@127.0.0.1:${closed.port}` }).query('SELECT 1'),
    );
    expect(err).toMatchObject({ code: 'DBOPS_UNREACHABLE', retryable: true });
    expect(err.message).toMatch(
      new RegExp(`^TDengine 127\\.0\\.0\\.1:${closed.port}: cannot connect \\(ECONNREFUSED\\)`),
    );
    expect(err.message).not.toContain(PASSWORD);
  });

  it('parses both endpoint URL forms', () => {
    expect(parseTdengineUrl('tdengine://reader@td.example:6041')).toEqual({
      baseUrl: 'http://td.example:6041',
      host: 'td.example:6041',
      user: 'reader',
    });
    expect(parseTdengineUrl('tdengine://td.example/power')).toEqual({
      baseUrl: 'http://td.example:6041',
      host: 'td.example:6041',
      database: 'power',
    });
    expect(parseTdengineUrl('https://td.example:6041/rest/sql/power')).toEqual({
      baseUrl: 'https://td.example:6041',
      host: 'td.example:6041',
      database: 'power',
    });
    expect(() => parseTdengineUrl('taos://root:pw@td.example:6030')).toThrow(
      /"taos:\/\/td\.example:6030" is not a TDengine REST endpoint/,
    );
    expect(parseJsonKeepingBigIntegers('{"a":[1,-2.5e3,12345678901234567890,"9007199254740993"]}')).toEqual({
      a: [1, -2500, '12345678901234567890', '9007199254740993'],
    });
  });
});

/** The assessment's statements and the stub's answers (taosAdapter shapes; values of a 2-dnode cluster). */
function clusterAnswers(): Record<string, string> {
  return {
    'SELECT SERVER_VERSION()': ok([['server_version()', 'VARCHAR', 24]], [['3.3.6.0']]),
    'SHOW CLUSTER ALIVE': ok([['status', 'INT', 4]], [[2]]),
    'SELECT id, endpoint, status, note FROM information_schema.ins_dnodes': ok(
      [
        ['id', 'SMALLINT', 2],
        ['endpoint', 'VARCHAR', 134],
        ['status', 'VARCHAR', 10],
        ['note', 'VARCHAR', 256],
      ],
      [
        [1, 'td1:6030', 'ready', ''],
        [2, 'td2:6030', 'offline', 'status msg timeout'],
      ],
    ),
    'SELECT * FROM information_schema.ins_vgroups': ok(
      [
        ['vgroup_id', 'INT', 4],
        ['db_name', 'VARCHAR', 32],
        ['tables', 'INT', 4],
        ['v1_dnode', 'INT', 4],
        ['v1_status', 'VARCHAR', 10],
        ['v2_dnode', 'INT', 4],
        ['v2_status', 'VARCHAR', 10],
      ],
      [
        [2, 'power', 4, 1, 'leader', 2, 'offline'],
        [3, 'power', 6, 2, 'offline', null, null],
      ],
    ),
    'SELECT * FROM information_schema.ins_databases': ok(
      [
        ['name', 'VARCHAR', 64],
        ['create_time', 'TIMESTAMP', 8],
        ['ntables', 'BIGINT', 8],
        ['vgroups', 'INT', 4],
        ['replica', 'INT', 4],
        ['keep', 'VARCHAR', 32],
        ['precision', 'VARCHAR', 2],
        ['status', 'VARCHAR', 10],
      ],
      [
        ['information_schema', null, 34, null, null, null, 'ms', 'ready'],
        ['performance_schema', null, 5, null, null, null, 'ms', 'ready'],
        ['power', '2024-01-01T00:00:00.000Z', 10, 2, 1, '3650d,3650d,3650d', 'ms', 'ready'],
      ],
    ),
    'SELECT db_name, stable_name FROM information_schema.ins_stables': ok(
      [
        ['db_name', 'VARCHAR', 64],
        ['stable_name', 'VARCHAR', 192],
      ],
      [
        ['power', 'meters'],
        ['power', 'logs'],
      ],
    ),
    'DESCRIBE `power`.`meters`': ok(
      [
        ['field', 'VARCHAR', 64],
        ['type', 'VARCHAR', 32],
        ['length', 'INT', 4],
        ['note', 'VARCHAR', 8],
      ],
      [
        ['ts', 'TIMESTAMP', 8, ''],
        ['current', 'FLOAT', 4, ''],
        ['voltage', 'INT', 4, ''],
        ['location', 'VARCHAR', 24, 'TAG'],
        ['groupid', 'INT', 4, 'TAG'],
      ],
    ),
    'DESCRIBE `power`.`logs`': ok(
      [
        ['field', 'VARCHAR', 64],
        ['type', 'VARCHAR', 32],
        ['length', 'INT', 4],
        ['note', 'VARCHAR', 8],
      ],
      [
        ['ts', 'TIMESTAMP', 8, ''],
        ['msg', 'NCHAR', 200, ''],
        ['host', 'NCHAR', 64, 'TAG'],
      ],
    ),
    'SHOW TABLE DISTRIBUTED `power`.`meters`': ok(
      [['_block_dist', 'VARCHAR', 274]],
      [
        ['Total_Blocks=[5] Total_Size=[93.65 KB] Average_size=[18.73 KB] Compression_Ratio=[23.98 %]'],
        ['Total_Rows=[20000] Inmem_Rows=[0] MinRows=[3616] MaxRows=[4096] Average_Rows=[4000]'],
      ],
    ),
    'SHOW TABLE DISTRIBUTED `power`.`logs`': ok(
      [['_block_dist', 'VARCHAR', 274]],
      [
        ['Total_Blocks=[2] Total_Size=[2.00 MB] Average_size=[1.00 MB] Compression_Ratio=[30.00 %]'],
        ['Total_Rows=[7000] Inmem_Rows=[120] MinRows=[3000] MaxRows=[4000] Average_Rows=[3500]'],
      ],
    ),
    'SELECT COUNT(*) FROM `power`.`meters`': ok([['count(*)', 'BIGINT', 8]], [[20150]]),
    'SELECT COUNT(*) FROM `power`.`logs`': fail(0x0217, 'Query killed'),
    'SELECT * FROM information_schema.ins_disk_usage': fail(0x2662, 'Table does not exist'),
    'SHOW QUERIES': ok(
      [
        ['kill_id', 'VARCHAR', 26],
        ['exec_usec', 'BIGINT', 8],
        ['sql', 'VARCHAR', 1024],
      ],
      [
        ['1:1', 95_000_000, "SELECT AVG(current) FROM power.meters WHERE location = 'SF' INTERVAL(1m)"],
        ['1:2', 5_000_000, "SELECT AVG(current) FROM power.meters WHERE location = 'LA' INTERVAL(1m)"],
        ['1:3', 1_000, 'show queries'],
      ],
    ),
  };
}

describe('TDengine assessment (local stub in the documented shape)', () => {
  it('reads health, supertables, rows (exact, else estimated), shapes and live queries', async () => {
    const answers = clusterAnswers();
    const s = await stub((req, res) =>
      send(res, 200, answers[req.body] ?? fail(0x2600, `stub: no answer for ${req.body}`)),
    );
    const result = await assessTdengine({ url: `tdengine://root@127.0.0.1:${s.port}`, password: PASSWORD }, 'td-east');

    expect(result.up).toBe(true);
    expect(result.version).toBe('3.3.6.0');
    expect(s.requests.every((r) => r.method === 'POST' && r.path === '/rest/sql')).toBe(true);
    expect(Object.keys(answers).filter((sql) => !s.requests.some((r) => r.body === sql))).toEqual([]);

    expect(Object.fromEntries(result.findings.map((f) => [f.id, [f.category, f.severity, f.value]]))).toEqual({
      'td.reachable': ['availability', 'ok', '3.3.6.0'],
      'td.cluster_alive': ['availability', 'warning', 2],
      'td.dnodes': ['availability', 'warning', 1],
      'td.vgroups': ['availability', 'critical', 2],
      'td.databases': ['availability', 'ok', 0],
      'td.replica': ['durability', 'warning', 1],
      'td.long_queries': ['performance', 'warning', 95],
    });
    expect(result.findings.every((f) => f.engine === 'tdengine' && f.target === 'td-east')).toBe(true);
    expect(result.findings.find((f) => f.id === 'td.vgroups')?.evidence).toBe(
      'no leader: power#3 (offline); degraded: power#2 (leader, offline)',
    );

    expect(result.supertables).toEqual([
      {
        db: 'power',
        name: 'logs',
        rows: 7120,
        rowsExact: false,
        columns: [
          { name: 'ts', type: 'TIMESTAMP' },
          { name: 'msg', type: 'NCHAR(200)' },
        ],
        tags: [{ name: 'host', type: 'NCHAR(64)' }],
      },
      {
        db: 'power',
        name: 'meters',
        rows: 20150,
        rowsExact: true,
        columns: [
          { name: 'ts', type: 'TIMESTAMP' },
          { name: 'current', type: 'FLOAT' },
          { name: 'voltage', type: 'INT' },
        ],
        tags: [
          { name: 'location', type: 'VARCHAR(24)' },
          { name: 'groupid', type: 'INT' },
        ],
      },
    ]);
    expect(result.volume).toEqual({
      target: 'td-east',
      engine: 'tdengine',
      totalBytes: 2097152 + 95898,
      tables: [
        { name: 'power.logs', rows: 7120, rowsExact: false, dataBytes: 2097152, indexBytes: 0 },
        { name: 'power.meters', rows: 20150, rowsExact: true, dataBytes: 95898, indexBytes: 0 },
      ],
    });
    expect(result.facts).toMatchObject({
      reachable: true,
      version: '3.3.6.0',
      cluster_alive: 2,
      dnodes: 2,
      dnodes_offline: 1,
      vgroups: 2,
      databases: 1,
      tables: 10,
      supertables: 2,
      'db.power.keep': '3650d,3650d,3650d',
      'db.power.replica': 1,
      'db.power.vgroups': 2,
      total_bytes_source: 'SHOW TABLE DISTRIBUTED',
      queries_running: 2,
    });

    const patterns = await tdengineLivePatterns({ url: `http://127.0.0.1:${s.port}`, password: PASSWORD });
    expect(patterns).toEqual([
      {
        text: 'SELECT AVG(current) FROM power.meters WHERE location = ? INTERVAL(1m)',
        kind: 'tdengine',
        tables: ['power.meters'],
        calls: 2,
        meanMs: 50_000,
      },
    ]);
  });

  it('reports a server that refuses connections as down, without throwing', async () => {
    const closed = await startStub(() => undefined);
    await closed.close();
    const result = await assessTdengine({ url: `tdengine://root@127.0.0.1:${closed.port}`, password: PASSWORD }, 'td');
    expect(result).toEqual({
      up: false,
      facts: { reachable: false },
      supertables: [],
      findings: [
        expect.objectContaining({
          id: 'td.reachable',
          engine: 'tdengine',
          target: 'td',
          category: 'availability',
          severity: 'critical',
          value: null,
        }),
      ],
    });
    expect(result.findings[0]?.evidence).toMatch(/cannot connect \(ECONNREFUSED\)/);
  });

  it('rejects bad credentials instead of calling the server down', async () => {
    const s = await stub((_req, res) => send(res, 401, fail(0x0357, 'Authentication failure')));
    await expect(
      assessTdengine({ url: `tdengine://root@127.0.0.1:${s.port}`, password: 'wrong' }, 'td'),
    ).rejects.toMatchObject({ code: 'DBOPS_AUTH_FAILED' });
  });

  it('rejects an endpoint that is not taosAdapter (HTTP 404) as bad input', async () => {
    const s = await stub((_req, res) => send(res, 404, '<html>not found</html>'));
    await expect(assessTdengine({ url: `http://127.0.0.1:${s.port}` }, 'td')).rejects.toMatchObject({
      code: 'DBOPS_BAD_INPUT',
      message: `TDengine 127.0.0.1:${s.port}: HTTP 404 for /rest/sql; is this taosAdapter's REST port (default 6041)?`,
    });
  });

  it('normalises TDengine statements and names the tables they read and write', () => {
    expect(
      normaliseSql("INSERT INTO power.d1001 USING power.meters TAGS ('SF', 2) VALUES (NOW, 10.3, 219)", {
        doubleQuotedStrings: true,
      }),
    ).toBe('INSERT INTO power.d1001 USING power.meters TAGS (?, ?) VALUES (NOW, ?, ?)');
    expect(
      tdengineTables(
        "INSERT INTO power.d1001 USING power.meters TAGS ('SF', 2) VALUES (NOW, 10.3) power.d1002 VALUES (NOW, 1.1)",
      ),
    ).toEqual({ reads: [], writes: ['power.d1001', 'power.d1002', 'power.meters'] });
    expect(tdengineTables('SELECT LAST_ROW(*) FROM power.meters PARTITION BY tbname')).toEqual({
      reads: ['power.meters'],
      writes: [],
    });
  });
});
