/**
 * Step 3 of a migration: the fresh staging schema with every table (no keys yet) and the chunk ledger. A
 * migration never writes into the live schema; it builds staging and cuts over by rename (see
 * docs/architecture.md). Idempotent: a retry of the same run finds its schema and returns.
 */
import type pg from 'pg';
import { DbopsError, ErrorCode } from '../../common/errors';
import { chunkLedgerSql, createTableSql } from './ddl';
import { qi, ql } from '../postgres/identifiers';
import { inTransaction, lockForTransaction, schemaExists } from '../postgres/schemas';
import type { MigrationPlan } from '../../common/contracts/migration-plan';
import { otherRunPatterns, type SchemaNames } from '../../common/schema-names';

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
    await lockForTransaction(client, migrationLockKey(names));
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

/** The advisory lock every schema move of a migration into `names.target` holds. */
export function migrationLockKey(names: SchemaNames): string {
  return `dbops-migration:${names.target}`;
}
