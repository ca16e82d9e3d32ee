/**
 * The code scan on a temporary tree of small files, one per language, each holding known statements: a SELECT with
 * a JOIN (Python, adjacent literals), an INSERT (TypeScript template literal), an UPDATE with a subquery (Go raw
 * string), Redis GET/SET on `user:42` (Python and Go), a TDengine `INTERVAL(1m)` query (Java, `+`-concatenated),
 * a .sql file, a broken statement and a prose string. Asserts the exact patterns, tables, counts and the unparsed
 * entry, and that dependency folders and oversized files are not read.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyPattern, scanCode, splitSqlStatements } from '../../activities/assessment/code-scan';

const FILES: Record<string, string> = {
  'app/users.py': `import redis

r = redis.Redis()


def orders_for(conn, user_id):
    # the JOIN; a comment's apostrophe is not a string
    return conn.execute(
        "SELECT u.id, o.total FROM users u "
        "JOIN orders o ON o.user_id = u.id WHERE u.id = %s",
        (user_id,),
    )


def cache_user(user):
    r.set('user:42', user.json())
    return r.get("user:42")
`,
  'web/events.ts': `import type { Db } from './db';

/** Records an event. */
export async function record(db: Db, name: string): Promise<void> {
  await db.query(\`INSERT INTO events (name, created_at) VALUES (\${name}, now())\`);
}

export const label = 'Select a file from the list';
export const broken = 'SELECT FROM WHERE users';
`,
  'svc/accounts.go': `package svc

const freeze = \`UPDATE accounts SET frozen = true WHERE id IN (SELECT account_id FROM flagged WHERE score > 90)\`

func cached(ctx context.Context, rdb *redis.Client) string {
	return rdb.Get(ctx, "user:42").Val() // rdb.Set(ctx, "commented:out", 1, 0) is not a call
}
`,
  'jobs/Metrics.java': `class Metrics {
  // Per-minute averages of one device.
  static String perMinute(String device) {
    return "SELECT _wstart, AVG(current) FROM power.meters WHERE location = '" + device + "' " +
        "AND ts > NOW - 1h INTERVAL(1m)";
  }
}
`,
  'db/schema.sql': `-- the schema; a comment holding a ; too
CREATE TABLE users (id int primary key, name text);
INSERT INTO users (id, name) VALUES (1, 'a;b');
`,
  'node_modules/dep/index.js': `const q = 'SELECT * FROM hidden_dependency_table';\n`,
  'dist/bundle.js': `const q = 'DELETE FROM built_output';\n`,
  'db/huge.sql': `-- ${'x'.repeat(5000)}\nSELECT * FROM too_big;\n`,
  'README.md': 'SELECT * FROM not_a_source_file;\n',
};

let root: string;
const rel = (path: string): string => relative(root, path);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'dbops-code-scan-'));
  for (const [path, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('scanCode', () => {
  it('finds every known statement with its kind, tables, count and files', async () => {
    const result = await scanCode([root], { maxFileBytes: 4096 });
    const patterns = result.patterns.map((p) => ({ ...p, files: p.files?.map(rel) }));

    expect(result.files).toBe(5);
    expect(patterns).toEqual([
      { text: 'GET user:*', kind: 'redis', tables: ['user:*'], calls: 2, files: ['app/users.py', 'svc/accounts.go'] },
      {
        text: 'CREATE TABLE users (id int primary key, name text)',
        kind: 'ddl',
        tables: ['users'],
        calls: 1,
        files: ['db/schema.sql'],
      },
      {
        text: 'INSERT INTO events (name, created_at) VALUES (?, now())',
        kind: 'insert',
        tables: ['events'],
        calls: 1,
        files: ['web/events.ts'],
      },
      {
        text: 'INSERT INTO users (id, name) VALUES (?, ?)',
        kind: 'insert',
        tables: ['users'],
        calls: 1,
        files: ['db/schema.sql'],
      },
      { text: 'SELECT FROM WHERE users', kind: 'other', tables: [], calls: 1, files: ['web/events.ts'] },
      { text: 'SET user:*', kind: 'redis', tables: ['user:*'], calls: 1, files: ['app/users.py'] },
      {
        text: 'SELECT u.id, o.total FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = ?',
        kind: 'select',
        tables: ['orders', 'users'],
        calls: 1,
        files: ['app/users.py'],
      },
      {
        text: 'SELECT _wstart, AVG(current) FROM power.meters WHERE location = ? AND ts > NOW - 1h INTERVAL(1m)',
        kind: 'tdengine',
        tables: ['power.meters'],
        calls: 1,
        files: ['jobs/Metrics.java'],
      },
      {
        text: 'UPDATE accounts SET frozen = true WHERE id IN (SELECT account_id FROM flagged WHERE score > ?)',
        kind: 'update',
        tables: ['accounts', 'flagged'],
        calls: 1,
        files: ['svc/accounts.go'],
      },
    ]);

    const byTable = Object.fromEntries(
      Object.entries(result.byTable).map(([name, use]) => [name, { ...use, files: use.files.map(rel) }]),
    );
    expect(byTable).toEqual({
      accounts: { reads: 0, writes: 1, files: ['svc/accounts.go'] },
      events: { reads: 0, writes: 1, files: ['web/events.ts'] },
      flagged: { reads: 1, writes: 0, files: ['svc/accounts.go'] },
      orders: { reads: 1, writes: 0, files: ['app/users.py'] },
      'power.meters': { reads: 1, writes: 0, files: ['jobs/Metrics.java'] },
      'user:*': { reads: 2, writes: 1, files: ['app/users.py', 'svc/accounts.go'] },
      // DDL records the file only; the .sql INSERT writes, the Python SELECT reads.
      users: { reads: 1, writes: 1, files: ['app/users.py', 'db/schema.sql'] },
    });

    expect(result.unparsed.map((u) => ({ ...u, file: rel(u.file) }))).toEqual([
      { file: 'web/events.ts', text: 'SELECT FROM WHERE users' },
    ]);
    expect(result.skipped.map((s) => ({ ...s, file: rel(s.file) }))).toEqual([
      {
        file: 'db/huge.sql',
        reason: expect.stringMatching(/^\d+ bytes > maxFileBytes \(4096\)$/) as unknown as string,
      },
    ]);
  });

  it('stops at maxFiles and says so', async () => {
    const result = await scanCode([root], { maxFiles: 1 });
    expect(result.files).toBe(1);
    expect(result.skipped).toEqual([
      { file: join(root, 'db', 'huge.sql'), reason: 'maxFiles (1) reached: this file and later ones were not read' },
    ]);
  });

  it('reads a single file given instead of a directory, and refuses a missing path', async () => {
    const result = await scanCode([join(root, 'db', 'schema.sql')]);
    expect(result.files).toBe(1);
    expect(result.patterns.map((p) => p.kind)).toEqual(['ddl', 'insert']);
    await expect(scanCode([join(root, 'missing')])).rejects.toMatchObject({ code: 'DBOPS_BAD_INPUT' });
  });
});

describe('SQL splitting and key patterns', () => {
  it('splits on semicolons outside quotes, comments and dollar quoting', () => {
    expect(
      splitSqlStatements(
        'SELECT \'a;b\'; -- c;d\nSELECT "x;y" FROM t; /* e;f */ CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;;',
      ),
    ).toEqual([
      "SELECT 'a;b'",
      '-- c;d\nSELECT "x;y" FROM t',
      '/* e;f */ CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql',
    ]);
  });

  it.each([
    ['user:42', 'user:*'],
    ['session:${id}', 'session:*'],
    ['cart:{uid}:items', 'cart:*:items'],
    ['order:%d', 'order:*'],
    ['tok:3f2a9c1e-1b2c-4d5e-8f90-1234567890ab', 'tok:*'],
    ['config', 'config'],
  ])('key %s → %s', (key, pattern) => {
    expect(keyPattern(key)).toBe(pattern);
  });
});
