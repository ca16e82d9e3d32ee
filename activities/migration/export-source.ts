/**
 * Step 2: discover the schema of the backup copy, profile every column, check foreign keys for orphan rows
 * (SQLite does not enforce them by default), and build the plan. Read-only.
 */
import Database from 'better-sqlite3';
import { discoverSchema } from '../sqlite/discover-schema';
import { quoteIdent } from '../sqlite/identifiers';
import { profileTable, registerProfileFunctions } from '../sqlite/profile-columns';
import type { SourceForeignKey, SourceSchema, SourceTable } from '../sqlite/source-schema';
import { type buildPlan, type PlanOptions } from './build-plan';

/** The schema of the backup copy. */
export function discoverBackup(backupPath: string): SourceSchema {
  const db = new Database(backupPath, { readonly: true, fileMustExist: true });
  try {
    return discoverSchema(db);
  } finally {
    db.close();
  }
}

/** What profiling some of the tables found. */
export interface ProfiledPart {
  profiles: Parameters<typeof buildPlan>[1];
  orphans: PlanOptions['orphans'];
}

/** Profiles the named tables and finds their orphan rows (parts of one schema can run on separate threads). */
export function profileBackup(
  backupPath: string,
  schema: SourceSchema,
  tableNames: string[],
  onTable: (table: string) => void = () => undefined,
): ProfiledPart {
  const db = new Database(backupPath, { readonly: true, fileMustExist: true });
  try {
    registerProfileFunctions(db);
    const tables = schema.tables.filter((t) => tableNames.includes(t.name));
    const profiles: ProfiledPart['profiles'] = {};
    for (const table of tables) {
      profiles[table.name] = profileTable(db, table, schema.encoding);
      onTable(table.name);
    }
    return { profiles, orphans: findOrphans(db, schema, tables) };
  } finally {
    db.close();
  }
}

/** Splits tables into `parts` groups of about equal work (values to profile), biggest first. */
export function splitByWork(tables: SourceTable[], parts: number): string[][] {
  const groups = Array.from({ length: Math.max(1, Math.min(parts, tables.length)) }, () => ({
    work: 0,
    names: [] as string[],
  }));
  const work = (t: SourceTable) => t.rowCount * Math.max(1, t.columns.length);
  for (const table of [...tables].sort((a, b) => work(b) - work(a))) {
    const lightest = groups.reduce((min, g) => (g.work < min.work ? g : min));
    lightest.work += work(table);
    lightest.names.push(table.name);
  }
  return groups.map((g) => g.names).filter((names) => names.length > 0);
}

/** PRAGMA foreign_key_check of `tables`, grouped by table and foreign-key index, with a few row ids each. */
function findOrphans(db: Database.Database, schema: SourceSchema, tables: SourceTable[]): PlanOptions['orphans'] {
  const orphans: PlanOptions['orphans'] = {};
  for (const table of tables) {
    if (table.foreignKeys.length === 0) continue;
    let rows: { rowid: number | null; fkid: number }[];
    try {
      rows = db.prepare(`PRAGMA foreign_key_check(${quoteIdent(table.name)})`).all() as typeof rows;
    } catch (err) {
      // "foreign key mismatch": a key references columns that are not unique in the parent. Such a key is
      // not migrated (the plan says why); check the table's other keys one by one.
      if (!/foreign key mismatch/i.test((err as Error).message)) throw err;
      rows = table.foreignKeys.flatMap((fk, fkid) => orphanRows(db, schema, table.name, fk, fkid));
    }
    for (const row of rows) {
      const byFk = (orphans[table.name] ??= {});
      const entry = (byFk[row.fkid] ??= { count: 0, sample: [] });
      entry.count += 1;
      if (entry.sample.length < 5) entry.sample.push(row.rowid === null ? '(WITHOUT ROWID row)' : `rowid ${row.rowid}`);
    }
  }
  return orphans;
}

/** Orphan rows of one foreign key, by a NOT EXISTS query (rowid tables; up to 1,000 reported). */
function orphanRows(
  db: Database.Database,
  schema: SourceSchema,
  table: string,
  fk: SourceForeignKey,
  fkid: number,
): { rowid: number | null; fkid: number }[] {
  const parent = schema.tables.find((t) => t.name === fk.parentTable);
  const parentColumns =
    fk.parentColumns.length > 0
      ? fk.parentColumns
      : (parent?.columns.filter((c) => c.pkPosition > 0).map((c) => c.name) ?? []);
  if (!parent || parentColumns.length !== fk.columns.length) return [];
  const child = schema.tables.find((t) => t.name === table);
  const match = fk.columns.map((c, i) => `p.${quoteIdent(parentColumns[i] ?? '')} = c.${quoteIdent(c)}`).join(' AND ');
  const present = fk.columns.map((c) => `c.${quoteIdent(c)} IS NOT NULL`).join(' AND ');
  const rowid = child?.withoutRowid ? 'NULL' : 'c.rowid';
  return (
    db
      .prepare(
        `SELECT ${rowid} AS rowid FROM ${quoteIdent(table)} c WHERE ${present} AND NOT EXISTS (SELECT 1 FROM ${quoteIdent(fk.parentTable)} p WHERE ${match}) LIMIT 1000`,
      )
      .all() as { rowid: number | null }[]
  ).map((r) => ({ rowid: r.rowid, fkid }));
}
