/**
 * Step 3 of a migration: the fresh staging schema with every table (no keys yet) and the chunk ledger. A
 * migration never writes into the live schema; it builds staging and cuts over by rename (see
 * docs/architecture.md). Idempotent: a retry of the same run finds its schema and returns.
 */
import type pg from 'pg';
import { DbopsError, ErrorCode } from '../../common/errors';
import { chunkLedgerSql, createTableSql } from './ddl';
import { qi, ql } from '../postgres/identifiers';
import {
  inTransaction,
  lockForTransaction,
  runOneStatement,
  schemaComment,
  schemaExists,
  schemaObjects,
} from '../postgres/schemas';
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
  replaceSchema: boolean,
): Promise<{ created: boolean }> {
  return inTransaction(pool, async (client) => {
    await lockForTransaction(client, migrationLockKey(names));
    const owner = `dbops migration run ${runId}`;
    if (await schemaExists(client, names.staging)) {
      // Only a retry of this same run may find its staging schema already there.
      const comment = await schemaComment(client, names.staging);
      if (comment === owner) return { created: false };
      throw new DbopsError(
        ErrorCode.BadInput,
        `staging schema ${names.staging} belongs to another run (${comment ?? 'unknown'}); refusing to touch it`,
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
    if (!replaceSchema) await refuseForeignObjects(client, names.target, plan);
    await client.query(`CREATE SCHEMA ${qi(names.staging)}`);
    await client.query(`COMMENT ON SCHEMA ${qi(names.staging)} IS ${ql(owner)}`);
    await client.query(chunkLedgerSql(names.staging));
    for (const table of plan.tables) await runOneStatement(client, names.staging, createTableSql(names.staging, table));
    return { created: true };
  });
}

/** The advisory lock every schema move of a migration into `names.target` holds. */
export function migrationLockKey(names: SchemaNames): string {
  return `dbops-migration:${names.target}`;
}

/**
 * The cutover swaps the whole schema and finalize drops the previous one, so a target schema that holds
 * anything the run does not replace (a table that was not migrated, a function, an extension…) is refused
 * here, before the target is touched, unless the operator asked for the whole schema to be replaced.
 */
async function refuseForeignObjects(client: pg.PoolClient, schema: string, plan: MigrationPlan): Promise<void> {
  if (!(await schemaExists(client, schema))) return;
  const replaced = new Set([
    ...plan.tables.map((t) => `table ${t.name}`),
    ...plan.views.map((v) => `view ${v.name}`),
    ...plan.tables.flatMap((t) => t.updatedAtColumns.map((c) => `function dbops_set_${c}`)),
  ]);
  const others = (await schemaObjects(client, schema)).filter((o) => !replaced.has(`${o.kind} ${o.name}`));
  if (others.length === 0) return;
  const shown = others.slice(0, 20).map((o) => `${o.kind} ${o.name}`);
  if (others.length > shown.length) shown.push(`and ${others.length - shown.length} more`);
  throw new DbopsError(
    ErrorCode.BadInput,
    `schema "${schema}" holds objects this migration does not replace (${shown.join(', ')}): the cutover would ` +
      `move them aside and finalize would drop them. Migrate into a schema of its own (--schema / "schema"), ` +
      `or pass --replace-schema ("replaceSchema": true) to replace the whole schema (kept as the previous ` +
      `schema for the rollback window). Nothing was changed.`,
  );
}
