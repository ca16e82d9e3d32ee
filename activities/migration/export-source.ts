/**
 * Step 2: discover the schema of the backup copy, profile every column, check foreign keys for orphan rows
 * (SQLite does not enforce them by default), and build the plan. Read-only.
 */
import Database from 'better-sqlite3';
import { discoverSchema, quoteIdent } from '../sqlite/discover-schema';
import { profileTable, registerProfileFunctions } from '../sqlite/profile-columns';
import type { SourceSchema } from '../sqlite/source-schema';
import { buildPlan, type PlanOptions } from './build-plan';
import type { MigrationPlan } from './plan-types';

/** Discovers, profiles and plans; `onTable` is called after each table (for heartbeats). */
export function exportPlan(
  backupPath: string,
  options: Omit<PlanOptions, 'orphans'>,
  onTable: (table: string, done: number, total: number) => void = () => undefined,
): { plan: MigrationPlan; schema: SourceSchema } {
  const db = new Database(backupPath, { readonly: true, fileMustExist: true });
  try {
    registerProfileFunctions(db);
    const schema = discoverSchema(db);
    const profiles: Parameters<typeof buildPlan>[1] = {};
    schema.tables.forEach((table, i) => {
      profiles[table.name] = profileTable(db, table, schema.encoding);
      onTable(table.name, i + 1, schema.tables.length);
    });
    return { plan: buildPlan(schema, profiles, { ...options, orphans: findOrphans(db, schema) }), schema };
  } finally {
    db.close();
  }
}

/** PRAGMA foreign_key_check, grouped by table and foreign-key index, with a few row ids each. */
function findOrphans(db: Database.Database, schema: SourceSchema): PlanOptions['orphans'] {
  const orphans: PlanOptions['orphans'] = {};
  for (const table of schema.tables) {
    if (table.foreignKeys.length === 0) continue;
    const rows = db.prepare(`PRAGMA foreign_key_check(${quoteIdent(table.name)})`).all() as {
      rowid: number | null;
      fkid: number;
    }[];
    for (const row of rows) {
      const byFk = (orphans[table.name] ??= {});
      const entry = (byFk[row.fkid] ??= { count: 0, sample: [] });
      entry.count += 1;
      if (entry.sample.length < 5) entry.sample.push(row.rowid === null ? '(WITHOUT ROWID row)' : `rowid ${row.rowid}`);
    }
  }
  return orphans;
}
