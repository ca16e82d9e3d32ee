/**
 * Step 7 of a migration and its undo: in one transaction rename the current schema aside and staging into
 * place; revert renames back. Idempotent: a retry after a crash finds the work done and returns.
 */
import type pg from 'pg';
import type { SchemaNames } from '../../common/schema-names';
import { qi } from '../postgres/identifiers';
import { inTransaction, lockForTransaction, schemaExists } from '../postgres/schemas';
import { migrationLockKey } from './create-staging';

/** Renames the current target aside (if any) and staging into place, atomically. Returns whether a previous schema existed. */
export async function cutover(pool: pg.Pool, names: SchemaNames): Promise<{ previousSchema: boolean }> {
  return inTransaction(pool, async (client) => {
    await lockForTransaction(client, migrationLockKey(names));
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
    await lockForTransaction(client, migrationLockKey(names));
    if (previousSchema && !(await schemaExists(client, names.old))) return; // already reverted
    await client.query(`DROP SCHEMA IF EXISTS ${qi(names.target)} CASCADE`);
    if (previousSchema) await client.query(`ALTER SCHEMA ${qi(names.old)} RENAME TO ${qi(names.target)}`);
  });
}
