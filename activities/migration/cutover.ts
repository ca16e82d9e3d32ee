/**
 * Step 7 of a migration and its undo. Cutover: in one transaction, rename the current schema aside and
 * staging into place, and give the new schema and each table it replaces the owner and grants of what
 * they replace. Revert (rollback inside the window): rename the migrated schema aside — it may already
 * hold rows the application wrote, so it is kept, never dropped — and the previous schema back. Both are
 * idempotent: a retry after a crash finds the work done and returns.
 */
import type pg from 'pg';
import { DbopsError, ErrorCode } from '../../common/errors';
import { rolledBackName, type SchemaNames } from '../../common/schema-names';
import { qi, ql } from '../postgres/identifiers';
import { type Access, applySchemaAccess, applyTableAccess, schemaAccess, tableAccess } from '../postgres/privileges';
import { inTransaction, lockForTransaction, schemaComment, schemaExists } from '../postgres/schemas';
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
    const previous = await schemaAccess(client, names.target);
    const previousTables = previous ? await tableAccess(client, names.target) : new Map<string, Access>();
    const previousComment = await schemaComment(client, names.target);
    if (previous) await client.query(`ALTER SCHEMA ${qi(names.target)} RENAME TO ${qi(names.old)}`);
    await client.query(`ALTER SCHEMA ${qi(names.staging)} RENAME TO ${qi(names.target)}`);
    // The staging schema's comment names the run that owned it; the live schema keeps its own (or none).
    await client.query(`COMMENT ON SCHEMA ${qi(names.target)} IS ${previousComment ? ql(previousComment) : 'NULL'}`);
    if (previous) {
      await applySchemaAccess(client, names.target, previous);
      for (const table of (await tableAccess(client, names.target)).keys()) {
        const replaced = previousTables.get(table);
        if (replaced) await applyTableAccess(client, names.target, table, replaced);
      }
    }
    return { previousSchema: previous !== null };
  });
}

/**
 * Undoes a cutover: moves the migrated schema aside to `names.rolledBack` and renames the previous one
 * back (if there was one). Returns the schema the migrated data was kept in.
 */
export async function revertCutover(
  pool: pg.Pool,
  names: SchemaNames,
  previousSchema: boolean,
): Promise<{ keptAs: string }> {
  const keptAs = rolledBackName(names);
  await inTransaction(pool, async (client) => {
    await lockForTransaction(client, migrationLockKey(names));
    if (previousSchema ? !(await schemaExists(client, names.old)) : !(await schemaExists(client, names.target))) return; // already reverted
    if (await schemaExists(client, keptAs))
      throw new DbopsError(
        ErrorCode.BadInput,
        `cannot move the migrated schema "${names.target}" aside: schema "${keptAs}" already exists (not created by this run); rename it, then finish the rollback`,
      );
    await client.query(`ALTER SCHEMA ${qi(names.target)} RENAME TO ${qi(keptAs)}`);
    if (previousSchema) await client.query(`ALTER SCHEMA ${qi(names.old)} RENAME TO ${qi(names.target)}`);
  });
  return { keptAs };
}
