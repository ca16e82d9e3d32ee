/**
 * A local stand-in for taosAdapter's REST API, for tests that run whole jobs against TDengine where no TDengine
 * server exists: `POST /rest/sql[/<db>]` with the SQL as the raw body and HTTP Basic auth, answered in the
 * documented shapes — `{code: 0, column_meta, data, rows}` on success, `{code, desc}` with HTTP 200 when the server
 * rejects a statement, HTTP 401 for bad credentials.
 *
 * Why a model rather than canned answers: the assessment, the live-pattern reader and the schema export each send
 * their own statements, and naming them all by hand in every test would copy the engine modules' SQL. Here one
 * small in-memory estate (databases → supertables with columns, tags and row counts, and normal tables) answers
 * every read-only statement those modules send: server version, cluster state, the information_schema tables
 * they read (`ins_dnodes`, `ins_vgroups`, `ins_databases`, `ins_stables`, `ins_tables`, `ins_disk_usage`, with
 * `SELECT *` or a column list and simple `col = 'literal'` filters), `DESCRIBE`, `SHOW TABLE DISTRIBUTED`,
 * `SELECT COUNT(*)`, `SHOW CREATE DATABASE|STABLE|TABLE`, `SHOW [db.]STABLES` and `SHOW QUERIES`. Anything else,
 * writes included, is answered `{code: 0x2600, desc: 'syntax error'}`: the stub never changes, and a test can see
 * in `requests` every statement and the code it got.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A column or tag: TDengine type as written in DDL, e.g. `TIMESTAMP`, `FLOAT`, `BINARY(24)`, `NCHAR(16)`. */
export interface TdengineStubField {
  name: string;
  type: string;
}

/** A supertable: its shape and how many rows its child tables hold in all. */
export interface TdengineStubSupertable {
  name: string;
  columns: TdengineStubField[];
  tags: TdengineStubField[];
  rows: number;
  /** Child tables (default 1 when it has rows, else 0; without any, `COUNT(*)` answers no row at all). */
  childTables?: number;
  /** Bytes on disk (default 4 per row). */
  bytes?: number;
}

/** A normal table. */
export interface TdengineStubTable {
  name: string;
  columns: TdengineStubField[];
  rows: number;
  /** Bytes on disk (default 16 per row). */
  bytes?: number;
}

/** A user database. */
export interface TdengineStubDatabase {
  name: string;
  /** Default 1. */
  replica?: number;
  /** Default 2. */
  vgroups?: number;
  /** Retention in days (default 3650). */
  keepDays?: number;
  /** Default `ms`. */
  precision?: 'ms' | 'us' | 'ns';
  supertables?: TdengineStubSupertable[];
  tables?: TdengineStubTable[];
}

/** The estate the stub answers for. */
export interface TdengineStubModel {
  /** Default `3.3.6.0`. */
  version?: string;
  /** `SHOW CLUSTER ALIVE`: 1 available, 2 partially, 0 not (default 1). */
  clusterAlive?: 0 | 1 | 2;
  /** Default one ready dnode `localhost:6030`. */
  dnodes?: { endpoint: string; status: string; note?: string }[];
  databases: TdengineStubDatabase[];
  /** Statements running now, for `SHOW QUERIES` (which also lists itself, as the server does). */
  queries?: { sql: string; execUsec: number }[];
}

/** The credentials the stub accepts. */
export interface TdengineStubAuth {
  user: string;
  password: string;
}

/** One request as received, and what it was answered. */
export interface TdengineStubRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  sql: string;
  /** HTTP status of the answer. */
  status: number;
  /** The answer's `code` (0 for success), or undefined when the answer was not JSON. */
  code: number | undefined;
}

/** A running stub. */
export interface TdengineStub {
  /** `tdengine://<user>@127.0.0.1:<port>`: the reference a job takes (no password). */
  url: string;
  port: number;
  /** Every request, in arrival order. */
  requests: TdengineStubRequest[];
  close(): Promise<void>;
}

type Meta = [string, string, number][];
type Answer = { status: number; body: string };

const SYSTEM_DATABASES = ['information_schema', 'performance_schema'];
const CREATED = '2024-01-01T00:00:00.000Z';
/** Storage lengths of the fixed-size types, as `column_meta` and `DESCRIBE` give them. */
const FIXED_LENGTHS: Record<string, number> = {
  TIMESTAMP: 8,
  BOOL: 1,
  TINYINT: 1,
  'TINYINT UNSIGNED': 1,
  SMALLINT: 2,
  'SMALLINT UNSIGNED': 2,
  INT: 4,
  'INT UNSIGNED': 4,
  BIGINT: 8,
  'BIGINT UNSIGNED': 8,
  FLOAT: 4,
  DOUBLE: 8,
  JSON: 4096,
};

const ok = (meta: Meta, data: unknown[][]): Answer => ({
  status: 200,
  body: JSON.stringify({ code: 0, column_meta: meta, data, rows: data.length }),
});
const fail = (code: number, desc: string): Answer => ({ status: 200, body: JSON.stringify({ code, desc }) });
const syntaxError = (): Answer => fail(0x2600, 'syntax error');
const dbMissing = (): Answer => fail(0x0388, 'Database not exist');
const tableMissing = (name: string): Answer => fail(0x2662, `Table does not exist: ${name}`);

/** A type as TDengine 3 reports it: BINARY is VARCHAR; `VARCHAR(24)` → `{type: 'VARCHAR', length: 24}`. */
function splitType(declared: string): { type: string; length: number } {
  const m = /^\s*([A-Za-z ]+?)\s*(?:\(\s*(\d+)\s*\))?\s*$/.exec(declared);
  const base = (m?.[1] ?? declared).toUpperCase().replace(/\s+/g, ' ');
  const type = base === 'BINARY' ? 'VARCHAR' : base;
  const length = m?.[2] === undefined ? (FIXED_LENGTHS[type] ?? 8) : Number(m[2]);
  return { type, length };
}

/** The type as `SHOW CREATE` writes it: `VARCHAR(24)`, `INT`. */
function ddlType(declared: string): string {
  const { type, length } = splitType(declared);
  return /^(VARCHAR|NCHAR|VARBINARY|GEOMETRY)$/.test(type) ? `${type}(${length})` : type;
}

const quote = (name: string): string => `\`${name}\``;
const fieldList = (fields: TdengineStubField[]): string =>
  fields.map((f) => `${quote(f.name)} ${ddlType(f.type)}`).join(', ');

/** A size as `SHOW TABLE DISTRIBUTED` prints it. */
function sizeText(bytes: number): string {
  return `${(bytes / 1024).toFixed(2)} KB`;
}

/** The answers of one model; `answer` is the whole dispatch. */
class Estate {
  constructor(private readonly model: TdengineStubModel) {}

  private database(name: string): TdengineStubDatabase | undefined {
    return this.model.databases.find((d) => d.name === name);
  }

  private dnodes(): { endpoint: string; status: string; note?: string }[] {
    return this.model.dnodes ?? [{ endpoint: 'localhost:6030', status: 'ready' }];
  }

  private childTables(st: TdengineStubSupertable): number {
    return st.childTables ?? (st.rows > 0 ? 1 : 0);
  }

  /** The system tables this stub knows, each as its column_meta and full rows. */
  private systemTable(name: string): { meta: Meta; rows: unknown[][] } | undefined {
    const dbs = this.model.databases;
    switch (name) {
      case 'ins_dnodes':
        return {
          meta: [
            ['id', 'SMALLINT', 2],
            ['endpoint', 'VARCHAR', 134],
            ['vnodes', 'SMALLINT', 2],
            ['support_vnodes', 'SMALLINT', 2],
            ['status', 'VARCHAR', 10],
            ['create_time', 'TIMESTAMP', 8],
            ['reboot_time', 'TIMESTAMP', 8],
            ['note', 'VARCHAR', 256],
          ],
          rows: this.dnodes().map((d, i) => [i + 1, d.endpoint, 0, 256, d.status, CREATED, CREATED, d.note ?? '']),
        };
      case 'ins_vgroups': {
        const ready = this.dnodes().flatMap((d, i) => (d.status === 'ready' ? [i + 1] : []));
        let id = 1;
        return {
          meta: [
            ['vgroup_id', 'INT', 4],
            ['db_name', 'VARCHAR', 32],
            ['tables', 'INT', 4],
            ['v1_dnode', 'SMALLINT', 2],
            ['v1_status', 'VARCHAR', 9],
            ['v2_dnode', 'SMALLINT', 2],
            ['v2_status', 'VARCHAR', 9],
            ['v3_dnode', 'SMALLINT', 2],
            ['v3_status', 'VARCHAR', 9],
          ],
          rows: dbs.flatMap((db) =>
            Array.from({ length: db.vgroups ?? 2 }, () => {
              const members = Array.from({ length: 3 }, (_, m) =>
                m < (db.replica ?? 1) && ready[m] !== undefined
                  ? [ready[m], m === 0 ? 'leader' : 'follower']
                  : [null, null],
              );
              return [id++, db.name, 0, ...members.flat()];
            }),
          ),
        };
      }
      case 'ins_databases':
        return {
          meta: [
            ['name', 'VARCHAR', 64],
            ['create_time', 'TIMESTAMP', 8],
            ['vgroups', 'SMALLINT', 2],
            ['ntables', 'BIGINT', 8],
            ['replica', 'TINYINT', 1],
            ['strict', 'VARCHAR', 4],
            ['duration', 'VARCHAR', 10],
            ['keep', 'VARCHAR', 32],
            ['buffer', 'INT', 4],
            ['pagesize', 'INT', 4],
            ['pages', 'INT', 4],
            ['minrows', 'INT', 4],
            ['maxrows', 'INT', 4],
            ['comp', 'TINYINT', 1],
            ['precision', 'VARCHAR', 2],
            ['status', 'VARCHAR', 10],
          ],
          rows: [
            ...SYSTEM_DATABASES.map((name) => [
              name,
              null,
              null,
              0,
              null,
              null,
              null,
              null,
              null,
              null,
              null,
              null,
              null,
              null,
              'ms',
              'ready',
            ]),
            ...dbs.map((db) => {
              const keep = db.keepDays ?? 3650;
              const ntables =
                (db.supertables ?? []).reduce((n, st) => n + this.childTables(st), 0) + (db.tables ?? []).length;
              return [
                db.name,
                CREATED,
                db.vgroups ?? 2,
                ntables,
                db.replica ?? 1,
                'on',
                '10d',
                `${keep}d,${keep}d,${keep}d`,
                256,
                4,
                256,
                100,
                4096,
                2,
                db.precision ?? 'ms',
                'ready',
              ];
            }),
          ],
        };
      case 'ins_stables':
        return {
          meta: [
            ['stable_name', 'VARCHAR', 192],
            ['db_name', 'VARCHAR', 64],
            ['create_time', 'TIMESTAMP', 8],
            ['columns', 'INT', 4],
            ['tags', 'INT', 4],
            ['last_update', 'TIMESTAMP', 8],
            ['table_comment', 'VARCHAR', 1024],
          ],
          rows: dbs.flatMap((db) =>
            (db.supertables ?? []).map((st) => [
              st.name,
              db.name,
              CREATED,
              st.columns.length,
              st.tags.length,
              CREATED,
              null,
            ]),
          ),
        };
      case 'ins_tables':
        return {
          meta: [
            ['table_name', 'VARCHAR', 192],
            ['db_name', 'VARCHAR', 64],
            ['create_time', 'TIMESTAMP', 8],
            ['columns', 'INT', 4],
            ['stable_name', 'VARCHAR', 192],
            ['uid', 'BIGINT', 8],
            ['vgroup_id', 'INT', 4],
            ['ttl', 'INT', 4],
            ['table_comment', 'VARCHAR', 1024],
            ['type', 'VARCHAR', 21],
          ],
          rows: dbs.flatMap((db) => [
            ...(db.supertables ?? []).flatMap((st) =>
              Array.from({ length: this.childTables(st) }, (_, i) => [
                `${st.name}_${i}`,
                db.name,
                CREATED,
                st.columns.length,
                st.name,
                1000 + i,
                1,
                0,
                null,
                'CHILD_TABLE',
              ]),
            ),
            ...(db.tables ?? []).map((t, i) => [
              t.name,
              db.name,
              CREATED,
              t.columns.length,
              null,
              9000 + i,
              1,
              0,
              null,
              'NORMAL_TABLE',
            ]),
          ]),
        };
      case 'ins_disk_usage':
        // Sizes in KB, one row per vgroup, as 3.3.x reports them.
        return {
          meta: [
            ['db_name', 'VARCHAR', 32],
            ['vgroup_id', 'INT', 4],
            ['wal_size', 'BIGINT', 8],
            ['data1', 'BIGINT', 8],
            ['data2', 'BIGINT', 8],
            ['data3', 'BIGINT', 8],
            ['cache_rdb', 'BIGINT', 8],
            ['table_meta', 'BIGINT', 8],
            ['ss', 'BIGINT', 8],
          ],
          rows: dbs.flatMap((db) => {
            const vgroups = db.vgroups ?? 2;
            const kb = Math.round(this.databaseBytes(db) / 1024 / vgroups);
            return Array.from({ length: vgroups }, (_, i) => [db.name, i + 1, 0, kb, 0, 0, 0, 0, 0]);
          }),
        };
      default:
        return undefined;
    }
  }

  private databaseBytes(db: TdengineStubDatabase): number {
    return [...(db.supertables ?? []), ...(db.tables ?? [])].reduce((n, t) => n + this.tableBytes(t), 0);
  }

  private tableBytes(t: TdengineStubSupertable | TdengineStubTable): number {
    return t.bytes ?? t.rows * ('tags' in t ? 4 : 16);
  }

  /** `SELECT <*|cols> FROM information_schema.<table> [WHERE col = 'lit' [AND …]]`. */
  private selectSystem(columns: string, table: string, where: string | undefined): Answer {
    const source = this.systemTable(table.toLowerCase());
    if (source === undefined) return tableMissing(`information_schema.${table}`);
    const index = (name: string): number => source.meta.findIndex(([n]) => n === name.toLowerCase());
    let rows = source.rows;
    if (where !== undefined) {
      for (const cond of where.split(/\s+AND\s+/i)) {
        const m = /^(\w+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(-?\d+))$/.exec(cond.trim());
        if (m === null) return syntaxError();
        const at = index(m[1] ?? '');
        if (at < 0) return fail(0x2602, `Invalid column name: ${m[1] ?? ''}`);
        const value = m[2] === undefined ? Number(m[3]) : m[2].replace(/\\(.)/g, '$1');
        rows = rows.filter((r) => r[at] === value);
      }
    }
    if (columns.trim() === '*') return ok(source.meta, rows);
    const picked = columns.split(',').map((c) => c.trim());
    const at = picked.map(index);
    const missing = picked.find((_, i) => (at[i] ?? -1) < 0);
    if (missing !== undefined) return fail(0x2602, `Invalid column name: ${missing}`);
    return ok(
      at.map((i) => source.meta[i] as [string, string, number]),
      rows.map((r) => at.map((i) => r[i])),
    );
  }

  /** A supertable or normal table named `[db.]name` (db from the SQL, else from the request path). */
  private lookup(
    dbName: string | undefined,
    name: string,
  ):
    | { db: TdengineStubDatabase; st: TdengineStubSupertable; table?: undefined }
    | { db: TdengineStubDatabase; st?: undefined; table: TdengineStubTable }
    | Answer {
    if (dbName === undefined) return fail(0x2616, 'Database not specified');
    const db = this.database(dbName);
    if (db === undefined) return dbMissing();
    const st = db.supertables?.find((s) => s.name === name);
    if (st !== undefined) return { db, st };
    const table = db.tables?.find((t) => t.name === name);
    if (table !== undefined) return { db, table };
    return tableMissing(`${dbName}.${name}`);
  }

  private createDatabase(db: TdengineStubDatabase): string {
    const keep = `${(db.keepDays ?? 3650) * 1440}m`;
    return (
      `CREATE DATABASE ${quote(db.name)} BUFFER 256 CACHESIZE 1 CACHEMODEL 'none' COMP 2 DURATION 14400m ` +
      `WAL_FSYNC_PERIOD 3000 MAXROWS 4096 MINROWS 100 KEEP ${keep},${keep},${keep} PAGES 256 PAGESIZE 4 ` +
      `PRECISION '${db.precision ?? 'ms'}' REPLICA ${db.replica ?? 1} WAL_LEVEL 1 VGROUPS ${db.vgroups ?? 2} SINGLE_STABLE 0`
    );
  }

  /** Answers one statement; `pathDb` is the database named in the request path. */
  answer(statement: string, pathDb: string | undefined): Answer {
    const sql = statement.trim().replace(/;\s*$/, '').replace(/\s+/g, ' ');
    const ident = '(?:`([^`]+)`|([A-Za-z_]\\w*))';
    const qualified = `(?:${ident}\\s?\\.\\s?)?${ident}`;
    const match = (pattern: string): RegExpExecArray | null => new RegExp(`^${pattern}$`, 'i').exec(sql);
    /** `[db.]name` from four capture groups starting at `at`. */
    const names = (m: RegExpExecArray, at: number): [string | undefined, string] => [
      m[at] ?? m[at + 1] ?? pathDb,
      m[at + 2] ?? m[at + 3] ?? '',
    ];

    let m: RegExpExecArray | null;
    if (match('SELECT SERVER_VERSION\\(\\)')) {
      return ok([['server_version()', 'VARCHAR', 24]], [[this.model.version ?? '3.3.6.0']]);
    }
    if (match('SHOW CLUSTER ALIVE')) return ok([['status', 'INT', 4]], [[this.model.clusterAlive ?? 1]]);
    if ((m = match('SELECT (.+?) FROM information_schema\\.(\\w+)(?: WHERE (.+))?'))) {
      return this.selectSystem(m[1] ?? '', m[2] ?? '', m[3]);
    }
    if ((m = match(`(?:DESCRIBE|DESC) ${qualified}`))) {
      const found = this.lookup(...names(m, 1));
      if ('status' in found) return found;
      const fields = [
        ...(found.st?.columns ?? found.table?.columns ?? []).map((f) => ({ ...f, note: '' })),
        ...(found.st?.tags ?? []).map((f) => ({ ...f, note: 'TAG' })),
      ];
      return ok(
        [
          ['field', 'VARCHAR', 64],
          ['type', 'VARCHAR', 32],
          ['length', 'INT', 4],
          ['note', 'VARCHAR', 8],
        ],
        fields.map((f) => {
          const { type, length } = splitType(f.type);
          return [f.name, type, length, f.note];
        }),
      );
    }
    if ((m = match(`SHOW TABLE DISTRIBUTED ${qualified}`))) {
      const found = this.lookup(...names(m, 1));
      if ('status' in found) return found;
      const t = found.st ?? found.table;
      const bytes = this.tableBytes(t);
      const blocks = Math.max(1, Math.ceil(t.rows / 4096));
      return ok(
        [['_block_dist', 'VARCHAR', 274]],
        [
          [
            `Total_Blocks=[${blocks}] Total_Size=[${sizeText(bytes)}] Average_size=[${sizeText(bytes / blocks)}] Compression_Ratio=[25.00 %]`,
          ],
          [
            `Total_Rows=[${t.rows}] Inmem_Rows=[0] MinRows=[${Math.min(t.rows, 4096)}] MaxRows=[4096] Average_Rows=[${Math.round(t.rows / blocks)}]`,
          ],
        ],
      );
    }
    if ((m = match(`SELECT COUNT\\(\\*\\) FROM ${qualified}`))) {
      const found = this.lookup(...names(m, 1));
      if ('status' in found) return found;
      // A supertable without child tables has nothing to aggregate: no row at all.
      const empty = found.st !== undefined && this.childTables(found.st) === 0;
      return ok([['count(*)', 'BIGINT', 8]], empty ? [] : [[(found.st ?? found.table).rows]]);
    }
    // The POC's time-range probes on the source: a tag value, one device's last hour, hourly buckets per device.
    if ((m = match(`SELECT ${ident} FROM ${qualified} LIMIT 1`))) {
      const found = this.lookup(...names(m, 3));
      if ('status' in found) return found;
      const tag = (found.st?.tags ?? []).find((t) => t.name === (m?.[1] ?? m?.[2]));
      if (!tag) return fail(0x2603, 'Invalid column name');
      const text = /CHAR|BINARY/i.test(tag.type);
      return ok([[tag.name, text ? 'VARCHAR' : 'INT', text ? 24 : 4]], [[text ? 'California.SanFrancisco' : 1]]);
    }
    if ((m = match(`SELECT \\* FROM ${qualified} WHERE .+ AND ts >= NOW - 1h`))) {
      const found = this.lookup(...names(m, 1));
      if ('status' in found) return found;
      return ok([['ts', 'TIMESTAMP', 8]], [['2026-11-30T05:00:00.000Z'], ['2026-11-30T05:00:10.000Z']]);
    }
    if ((m = match(`SELECT _wstart, .+ FROM ${qualified} WHERE ts >= NOW - 1d PARTITION BY .+ INTERVAL\\(1h\\)`))) {
      const found = this.lookup(...names(m, 1));
      if ('status' in found) return found;
      return ok(
        [
          ['_wstart', 'TIMESTAMP', 8],
          ['count(*)', 'BIGINT', 8],
        ],
        [
          ['2026-11-30T04:00:00.000Z', 360],
          ['2026-11-30T05:00:00.000Z', 360],
        ],
      );
    }
    if ((m = match(`SHOW CREATE DATABASE ${ident}`))) {
      const db = this.database(m[1] ?? m[2] ?? '');
      if (db === undefined) return dbMissing();
      return ok(
        [
          ['Database', 'VARCHAR', 64],
          ['Create Database', 'VARCHAR', 65536],
        ],
        [[db.name, this.createDatabase(db)]],
      );
    }
    if ((m = match(`SHOW CREATE (STABLE|TABLE) ${qualified}`))) {
      const wantsStable = (m[1] ?? '').toUpperCase() === 'STABLE';
      const [dbName, name] = names(m, 2);
      const found = this.lookup(dbName, name);
      if ('status' in found) return found;
      if (wantsStable !== (found.st !== undefined)) return tableMissing(`${dbName ?? ''}.${name}`);
      const create =
        found.st !== undefined
          ? `CREATE STABLE ${quote(found.st.name)} (${fieldList(found.st.columns)}) TAGS (${fieldList(found.st.tags)})`
          : `CREATE TABLE ${quote(found.table.name)} (${fieldList(found.table.columns)})`;
      return ok(
        [
          ['Table', 'VARCHAR', 192],
          ['Create Table', 'VARCHAR', 65536],
        ],
        [[name, create]],
      );
    }
    if ((m = match(`SHOW (?:${ident}\\s?\\.\\s?)?STABLES`))) {
      const dbName = m[1] ?? m[2] ?? pathDb;
      if (dbName === undefined) return fail(0x2616, 'Database not specified');
      const db = this.database(dbName);
      if (db === undefined) return dbMissing();
      return ok(
        [['stable_name', 'VARCHAR', 192]],
        (db.supertables ?? []).map((st) => [st.name]),
      );
    }
    if (match('SHOW QUERIES')) {
      const running = [...(this.model.queries ?? []), { sql, execUsec: 120 }];
      return ok(
        [
          ['kill_id', 'VARCHAR', 26],
          ['query_id', 'BIGINT', 8],
          ['conn_id', 'INT UNSIGNED', 4],
          ['app', 'VARCHAR', 24],
          ['pid', 'INT', 4],
          ['user', 'VARCHAR', 24],
          ['end_point', 'VARCHAR', 134],
          ['create_time', 'TIMESTAMP', 8],
          ['exec_usec', 'BIGINT', 8],
          ['stable_query', 'BOOL', 1],
          ['sub_num', 'INT', 4],
          ['sub_status', 'VARCHAR', 1000],
          ['sql', 'VARCHAR', 1024],
        ],
        running.map((q, i) => [
          `1:${i + 1}`,
          i + 1,
          i + 1,
          i === running.length - 1 ? 'taosadapter' : 'app',
          1000 + i,
          'root',
          '127.0.0.1:6041',
          CREATED,
          q.execUsec,
          false,
          1,
          '',
          q.sql,
        ]),
      );
    }
    return syntaxError();
  }
}

/**
 * Starts the stub on a free port of 127.0.0.1. Requests without `auth`'s Basic credentials get HTTP 401; a
 * database in the path that the model lacks gets `Database not exist`; any other path or method gets HTTP 404.
 */
export async function startTdengineStub(model: TdengineStubModel, auth: TdengineStubAuth): Promise<TdengineStub> {
  const estate = new Estate(model);
  const expected = `Basic ${Buffer.from(`${auth.user}:${auth.password}`, 'utf8').toString('base64')}`;
  const requests: TdengineStubRequest[] = [];

  const respond = (req: IncomingMessage, sql: string): Answer => {
    const path = (req.url ?? '').replace(/\?.*$/, '');
    const route = /^\/rest\/sql(?:\/([^/]+))?\/?$/.exec(path);
    if (req.method !== 'POST' || route === null) return { status: 404, body: '404 page not found' };
    if (req.headers.authorization !== expected) return { ...fail(0x0357, 'Authentication failure'), status: 401 };
    const pathDb = route[1] === undefined ? undefined : decodeURIComponent(route[1]);
    if (pathDb !== undefined && !SYSTEM_DATABASES.includes(pathDb) && !model.databases.some((d) => d.name === pathDb)) {
      return dbMissing();
    }
    return estate.answer(sql, pathDb);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const sql = Buffer.concat(chunks).toString('utf8');
      const answer = respond(req, sql);
      let code: number | undefined;
      try {
        code = (JSON.parse(answer.body) as { code?: number }).code;
      } catch {
        code = undefined;
      }
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        authorization: req.headers.authorization,
        sql,
        status: answer.status,
        code,
      });
      res.writeHead(answer.status, {
        'Content-Type': answer.body.startsWith('{') ? 'application/json' : 'text/plain; charset=utf-8',
      });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `tdengine://${encodeURIComponent(auth.user)}@127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
