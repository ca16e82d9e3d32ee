/**
 * The schema moves of a migration (DESIGN decision 4): create the staging schema, cut over by renaming in
 * one transaction, and the compensations — drop staging, rename back. Each is idempotent: a retry after a
 * crash finds the work done and returns.
 */
import type pg from 'pg';
import { DbopsError, ErrorCode } from '../../common/errors';
import { chunkLedgerSql, createTableSql } from './ddl';
import { qi, ql } from './names';
import type { MigrationPlan } from './plan-types';
import { otherRunPatterns, type SchemaNames } from '../../common/schema-names';

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

/**
 * Creates the staging schema with every table (no keys yet) and the chunk ledger, in one transaction that
 * holds an advisory lock on the target schema, so a concurrent migration into it is refused, not raced.
 */
export async function createStaging(
  pool: pg.Pool,
  names: SchemaNames,
  plan: MigrationPlan,
  runId: string,
): Promise<{ created: boolean }> {
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`dbops-migration:${names.target}`]);
    const owner = `dbops migration run ${runId}`;
    if (await schemaExists(client, names.staging)) {
      // Only a retry of this same run may find its staging schema already there.
      const { rows } = await client.query<{ comment: string | null }>(
        "SELECT obj_description(oid, 'pg_namespace') AS comment FROM pg_namespace WHERE nspname = $1",
        [names.staging],
      );
      if (rows[0]?.comment === owner) return { created: false };
      throw new DbopsError(
        ErrorCode.BadInput,
        `staging schema ${names.staging} belongs to another run (${rows[0]?.comment ?? 'unknown'}); refusing to touch it`,
      );
    }
    const [stagePattern, oldPattern] = otherRunPatterns(names.target);
    const { rows } = await client.query<{ nspname: string }>(
      'SELECT nspname FROM pg_namespace WHERE (nspname LIKE $1 OR nspname LIKE $2) AND nspname NOT IN ($3, $4)',
      [stagePattern, oldPattern, names.staging, names.old],
    );
    if (rows.length > 0) {
      throw new DbopsError(
        ErrorCode.BadInput,
        `another migration into schema "${names.target}" is in progress or awaiting finalize (found ${rows.map((r) => r.nspname).join(', ')}); ` +
          'wait for it, or finalize / roll it back (`npx dbops signal <id> finalize|rollback`)',
      );
    }
    await client.query(`CREATE SCHEMA ${qi(names.staging)}`);
    await client.query(`COMMENT ON SCHEMA ${qi(names.staging)} IS ${ql(owner)}`);
    await client.query(chunkLedgerSql(names.staging));
    for (const table of plan.tables) await client.query(createTableSql(names.staging, table));
    return { created: true };
  });
}

/** Renames the current target aside (if any) and staging into place, atomically. Returns whether a previous schema existed. */
export async function cutover(pool: pg.Pool, names: SchemaNames): Promise<{ previousSchema: boolean }> {
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`dbops-migration:${names.target}`]);
    if (!(await schemaExists(client, names.staging))) {
      // A retry after a committed cutover: staging is already in place.
      return { previousSchema: await schemaExists(client, names.old) };
    }
    await client.query(`DROP TABLE IF EXISTS ${qi(names.staging)}."__dbops_chunks"`);
    const previous = await schemaExists(client, names.target);
    if (previous) await client.query(`ALTER SCHEMA ${qi(names.target)} RENAME TO ${qi(names.old)}`);
    await client.query(`ALTER SCHEMA ${qi(names.staging)} RENAME TO ${qi(names.target)}`);
    return { previousSchema: previous };
  });
}

/** Undoes a cutover: drops the migrated schema and renames the previous one back (if there was one). */
export async function revertCutover(pool: pg.Pool, names: SchemaNames, previousSchema: boolean): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`dbops-migration:${names.target}`]);
    if (previousSchema && !(await schemaExists(client, names.old))) return; // already reverted
    await client.query(`DROP SCHEMA IF EXISTS ${qi(names.target)} CASCADE`);
    if (previousSchema) await client.query(`ALTER SCHEMA ${qi(names.old)} RENAME TO ${qi(names.target)}`);
  });
}

/** DROP SCHEMA … CASCADE if it exists (drop staging on rollback; drop the previous schema on finalize). */
export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${qi(schema)} CASCADE`);
}
