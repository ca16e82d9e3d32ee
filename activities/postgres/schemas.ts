/** Schema-level operations on PostgreSQL, and the transaction helper the schema moves share. */
import type pg from 'pg';
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

/** DROP SCHEMA … CASCADE if it exists. */
export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${qi(schema)} CASCADE`);
}

/** Takes a transaction-scoped advisory lock on `key`: concurrent holders queue behind each other. */
export async function lockForTransaction(client: pg.PoolClient, key: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [key]);
}
