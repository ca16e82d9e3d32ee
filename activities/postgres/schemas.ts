/** Schema-level operations on PostgreSQL, and the transaction helper the schema moves share. */
import pg from 'pg';
import { qi } from './identifiers';

/** Runs `body` in a transaction on one pooled client. */
export async function inTransaction<T>(pool: pg.Pool, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await body(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** True when the schema exists. */
export async function schemaExists(client: pg.Pool | pg.PoolClient, schema: string): Promise<boolean> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  return (rowCount ?? 0) > 0;
}

/** The comment on a schema, or null (none, or no such schema). */
export async function schemaComment(client: pg.Pool | pg.PoolClient, schema: string): Promise<string | null> {
  const { rows } = await client.query<{ text: string | null }>(
    "SELECT obj_description(oid, 'pg_namespace') AS text FROM pg_namespace WHERE nspname = $1",
    [schema],
  );
  return rows[0]?.text ?? null;
}

/** DROP SCHEMA … CASCADE if it exists. */
export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${qi(schema)} CASCADE`);
}

/** Takes a transaction-scoped advisory lock on `key`: concurrent holders queue behind each other. */
export async function lockForTransaction(client: pg.PoolClient, key: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [key]);
}

/** One object that lives in a schema. */
export interface SchemaObject {
  kind: string;
  name: string;
}

/**
 * Everything a schema holds that a whole-schema move would carry along: relations (tables, views,
 * materialized views, foreign tables, sequences not owned by a column), functions and procedures, types
 * of its own (enums, domains, composite and range types) and extensions installed in it. Indexes,
 * owned sequences, constraints and triggers belong to their table and are not listed.
 */
export async function schemaObjects(client: pg.Pool | pg.PoolClient, schema: string): Promise<SchemaObject[]> {
  const { rows } = await client.query<SchemaObject>(
    `SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
              WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' WHEN 'c' THEN 'type'
              ELSE 'sequence' END AS kind,
            c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S', 'c')
        AND NOT (c.relkind = 'S' AND EXISTS (
              SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
        AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = c.oid AND e.classid = 'pg_class'::regclass AND e.deptype = 'e')
     UNION ALL
     SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END, p.proname
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = $1
        AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = p.oid AND e.classid = 'pg_proc'::regclass AND e.deptype = 'e')
     UNION ALL
     SELECT 'type', t.typname
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = $1 AND t.typtype IN ('e', 'd', 'r', 'm')
        AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = t.oid AND e.classid = 'pg_type'::regclass AND e.deptype = 'e')
     UNION ALL
     SELECT 'extension', x.extname
       FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
      WHERE n.nspname = $1
     ORDER BY 1, 2`,
    [schema],
  );
  return rows;
}

/**
 * Runs one statement built from SQL text that came from outside (a source file's view body, CHECK, index
 * expression or default) with `schema` first on the search path. It goes over the extended protocol, which
 * refuses a second statement: text that smuggles `; DROP …` fails with 42601 and runs nothing.
 */
export async function runOneStatement(pool: pg.Pool | pg.PoolClient, schema: string, sql: string): Promise<void> {
  const run = async (client: pg.PoolClient | pg.Pool) => {
    await client.query(`SET LOCAL search_path TO ${qi(schema)}`);
    // queryMode is in pg 8.11+, not yet in @types/pg.
    await client.query({ text: sql, queryMode: 'extended' } as pg.QueryConfig);
  };
  if (pool instanceof pg.Pool) await inTransaction(pool, run);
  else await run(pool);
}
