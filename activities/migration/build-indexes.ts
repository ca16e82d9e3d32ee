/**
 * Step 5: after the load, per table — primary key and unique constraints (failure is fatal: the data
 * breaks a key SQLite declared), other indexes, CHECKs and the updated_at trigger (failure is reported
 * loudly, the run goes on), the identity sequence, ANALYZE. Then, for the whole schema, foreign keys and
 * views. Idempotent: each object is skipped when it already exists.
 */
import type pg from 'pg';
import { DbopsError, ErrorCode } from '../../common/errors';
import { checkSql, foreignKeySql, indexSql, setSequenceSql, updatedAtSql } from './ddl';
import { qualified } from '../postgres/identifiers';
import { runOneStatement } from '../postgres/schemas';
import type { BuildOutcome } from '../../common/contracts/migration';
import type { MigrationPlan, TablePlan } from '../../common/contracts/migration-plan';
import { rewriteBooleanComparisons } from './rewrite-booleans';

/**
 * Memory for one index build's sort: PostgreSQL's default (64 MB) spills a million-row key to disk; a few
 * hundred MB keep it in memory. Per session, never below what the server is already set to.
 */
const BUILD_MEMORY = '256MB';

/** Keys, indexes, checks, trigger, sequence and statistics of one table. */
export async function buildTableObjects(pool: pg.Pool, schema: string, table: TablePlan): Promise<BuildOutcome> {
  const client = await pool.connect();
  try {
    await client.query(
      `SELECT set_config('maintenance_work_mem', $1, false) WHERE pg_size_bytes(current_setting('maintenance_work_mem')) < pg_size_bytes($1)`,
      [BUILD_MEMORY],
    );
    return await buildWith(client, pool, schema, table);
  } finally {
    await client.query('RESET maintenance_work_mem').catch(() => undefined);
    client.release();
  }
}

async function buildWith(
  client: pg.PoolClient,
  pool: pg.Pool,
  schema: string,
  table: TablePlan,
): Promise<BuildOutcome> {
  const outcome: BuildOutcome = { created: [], warnings: [] };
  for (const index of table.indexes) {
    if (await relationOrConstraintExists(pool, schema, index.name)) continue;
    try {
      const booleans = table.columns.filter((c) => c.kind === 'boolean').map((c) => c.name);
      const where = index.where === null ? null : rewriteBooleanComparisons(index.where, booleans);
      await client.query('BEGIN');
      try {
        await runOneStatement(client, schema, indexSql(schema, table.name, { ...index, where }));
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      outcome.created.push(index.name);
    } catch (err) {
      const message = `${table.name}: ${index.kind === 'index' ? 'index' : 'key'} ${index.name} (from ${index.sourceName}) not created: ${(err as Error).message}`;
      if (index.kind !== 'index' || index.unique)
        throw new DbopsError(ErrorCode.BadInput, `${message}; the data violates a key SQLite declared`, { cause: err });
      outcome.warnings.push(message);
    }
  }
  for (const [i, check] of table.checks.entries()) {
    try {
      await runOneStatement(pool, schema, checkSql(schema, table.name, check, i + 1));
    } catch (err) {
      if ((err as { code?: string }).code === '42710') continue; // already there (retry)
      outcome.warnings.push(`${table.name}: CHECK (${check}) not created: ${(err as Error).message}`);
    }
  }
  for (const column of table.updatedAtColumns) {
    const [fn, trigger] = updatedAtSql(schema, table.name, column);
    await pool.query(fn as string);
    await pool.query(trigger as string).catch((err: { code?: string }) => {
      if (err.code !== '42710') throw err;
    });
  }
  if (table.rowidAlias && table.sequenceValue !== null) {
    await pool.query(setSequenceSql(schema, table.name, table.rowidAlias, table.sequenceValue));
  }
  await pool.query(`ANALYZE ${qualified(schema, table.name)}`);
  return outcome;
}

/** Foreign keys (after every table has its keys) and views. */
export async function buildSchemaObjects(pool: pg.Pool, schema: string, plan: MigrationPlan): Promise<BuildOutcome> {
  const outcome: BuildOutcome = { created: [], warnings: [] };
  for (const table of plan.tables) {
    for (const fk of table.foreignKeys) {
      if (await relationOrConstraintExists(pool, schema, fk.name)) continue;
      try {
        await pool.query(foreignKeySql(schema, table.name, fk));
        outcome.created.push(fk.name);
      } catch (err) {
        outcome.warnings.push(`${table.name}: foreign key ${fk.name} not created: ${(err as Error).message}`);
      }
    }
  }
  const booleans = plan.tables.flatMap((t) => t.columns.filter((c) => c.kind === 'boolean').map((c) => c.name));
  for (const view of plan.views) {
    try {
      await runOneStatement(
        pool,
        schema,
        rewriteBooleanComparisons(view.sql, booleans).replace(
          /^\s*CREATE\s+(TEMP|TEMPORARY\s+)?VIEW\s+(IF\s+NOT\s+EXISTS\s+)?/i,
          'CREATE OR REPLACE VIEW ',
        ),
      );
      outcome.created.push(view.name);
    } catch (err) {
      outcome.warnings.push(
        `view ${view.name} not created (SQLite SQL PostgreSQL does not accept: ${(err as Error).message}); recreate it by hand`,
      );
    }
  }
  return outcome;
}

async function relationOrConstraintExists(pool: pg.Pool, schema: string, name: string): Promise<boolean> {
  const { rowCount } = await pool.query(
    `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2
     UNION ALL
     SELECT 1 FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace WHERE n.nspname = $1 AND k.conname = $2`,
    [schema, name],
  );
  return (rowCount ?? 0) > 0;
}
