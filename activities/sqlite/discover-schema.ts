/**
 * Reads the schema of a SQLite database through PRAGMAs (columns, keys, indexes, foreign keys) and its DDL
 * text (index expressions, partial WHERE, CHECK, AUTOINCREMENT). Read-only; the caller owns `db`.
 */
import type Database from 'better-sqlite3';
import { quoteIdent } from './identifiers';
import type { SourceColumn, SourceIndex, SourceSchema, SourceTable } from './source-schema';
import {
  hasAutoincrement,
  indexKeyExpression,
  parseChecks,
  parseCreateIndex,
  parseForeignKeyDeferral,
} from './sql-text';

interface TableListRow {
  name: string;
  type: 'table' | 'view' | 'virtual' | 'shadow';
  wr: number;
  strict: number;
}

/** SQLite's own bookkeeping tables: never data of the application. */
const INTERNAL = /^sqlite_/i;

/** Discovers every table, view, trigger and virtual table of the main database. */
export function discoverSchema(db: Database.Database): SourceSchema {
  const list = db
    .prepare("SELECT name, type, wr, strict FROM pragma_table_list WHERE schema = 'main'")
    .all() as TableListRow[];
  const sqlOf = new Map(
    (db.prepare('SELECT name, sql FROM sqlite_schema').all() as { name: string; sql: string | null }[]).map((r) => [
      r.name,
      r.sql ?? '',
    ]),
  );
  const sequences = new Map<string, string>();
  if (list.some((t) => t.name === 'sqlite_sequence')) {
    const rows = db.prepare('SELECT name, seq FROM sqlite_sequence').safeIntegers(true).all() as {
      name: string;
      seq: bigint;
    }[];
    for (const row of rows) sequences.set(row.name, row.seq.toString());
  }

  const tables = list
    .filter((t) => t.type === 'table' && !INTERNAL.test(t.name))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((t) => describeTable(db, t, sqlOf.get(t.name) ?? '', sequences.get(t.name) ?? null));
  const views = list
    .filter((t) => t.type === 'view')
    .map((t) => ({ name: t.name, sql: sqlOf.get(t.name) ?? '' }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const triggers = (
    db.prepare("SELECT name, tbl_name AS tbl, sql FROM sqlite_schema WHERE type = 'trigger' ORDER BY name").all() as {
      name: string;
      tbl: string;
      sql: string;
    }[]
  ).map((t) => ({ name: t.name, table: t.tbl, sql: t.sql }));
  return {
    tables,
    views,
    triggers,
    virtualTables: list
      .filter((t) => t.type === 'virtual')
      .map((t) => t.name)
      .sort(),
    encoding: String(db.pragma('encoding', { simple: true })),
    sqliteVersion: db.prepare('SELECT sqlite_version()').pluck().get() as string,
  };
}

function describeTable(db: Database.Database, t: TableListRow, sql: string, sequence: string | null): SourceTable {
  const q = quoteIdent(t.name);
  const columns = (
    db.prepare(`SELECT * FROM pragma_table_xinfo(${quoteLiteral(t.name)})`).all() as {
      name: string;
      type: string;
      notnull: number;
      dflt_value: string | null;
      pk: number;
      hidden: number;
    }[]
  ).map((c) => ({
    name: c.name,
    declaredType: c.type,
    notNull: c.notnull === 1,
    defaultSql: c.dflt_value,
    pkPosition: c.pk,
    hidden: c.hidden,
  }));
  const pk = columns.filter((c) => c.pkPosition > 0);
  const rowidAlias =
    !t.wr && pk.length === 1 && pk[0]?.declaredType.toUpperCase() === 'INTEGER' ? (pk[0]?.name ?? null) : null;
  const rowCount = db.prepare(`SELECT count(*) FROM ${q}`).pluck().get() as number;
  let rowidRange: SourceTable['rowidRange'] = null;
  if (!t.wr && rowCount > 0) {
    const range = db.prepare(`SELECT min(rowid) AS min, max(rowid) AS max FROM ${q}`).safeIntegers(true).get() as {
      min: bigint;
      max: bigint;
    };
    rowidRange = { min: range.min.toString(), max: range.max.toString() };
  }
  return {
    keyRange: t.wr && rowCount > 0 ? leadingKeyRange(db, q, pk) : null,
    name: t.name,
    columns,
    withoutRowid: t.wr === 1,
    strict: t.strict === 1,
    rowidAlias,
    autoincrement: hasAutoincrement(sql),
    sequence,
    indexes: describeIndexes(db, t.name, rowidAlias),
    foreignKeys: describeForeignKeys(db, t.name, sql),
    checks: parseChecks(sql),
    rowCount,
    rowidRange,
    sql,
  };
}

/**
 * A WITHOUT ROWID table has no rowid to split on: its leading primary-key column can serve when every value
 * is an INTEGER (min and max read off the key's b-tree), so the table imports in parallel chunks too.
 */
function leadingKeyRange(db: Database.Database, q: string, pk: SourceColumn[]): SourceTable['keyRange'] {
  const lead = pk.find((c) => c.pkPosition === 1);
  if (!lead) return null;
  const c = quoteIdent(lead.name);
  const range = db
    .prepare(
      `SELECT min(${c}) AS min, max(${c}) AS max, (SELECT count(*) FROM ${q} WHERE typeof(${c}) <> 'integer') AS others FROM ${q}`,
    )
    .safeIntegers(true)
    .get() as { min: unknown; max: unknown; others: bigint };
  if (range.others > 0n || typeof range.min !== 'bigint' || typeof range.max !== 'bigint') return null;
  return { column: lead.name, min: range.min.toString(), max: range.max.toString() };
}

function describeIndexes(db: Database.Database, table: string, rowidAlias: string | null): SourceIndex[] {
  const list = db
    .prepare(`SELECT name, "unique" AS uniq, origin, partial FROM pragma_index_list(${quoteLiteral(table)})`)
    .all() as {
    name: string;
    uniq: number;
    origin: 'c' | 'u' | 'pk';
    partial: number;
  }[];
  return list
    .filter((ix) => !(ix.origin === 'pk' && rowidAlias !== null))
    .map((ix) => {
      const sql =
        (db.prepare('SELECT sql FROM sqlite_schema WHERE type = ? AND name = ?').pluck().get('index', ix.name) as
          string | null) ?? '';
      const parsed = sql ? parseCreateIndex(sql) : null;
      const keys = (
        db.prepare(`SELECT cid, name, "desc", coll, "key" FROM pragma_index_xinfo(${quoteLiteral(ix.name)})`).all() as {
          cid: number;
          name: string | null;
          desc: number;
          coll: string;
          key: number;
        }[]
      ).filter((k) => k.key === 1);
      return {
        name: ix.name,
        unique: ix.uniq === 1,
        origin: ix.origin,
        parts: keys.map((k, i) => ({
          column: k.cid === -2 ? null : k.name,
          expression: k.cid === -2 ? indexKeyExpression(parsed?.keys[i] ?? '') : null,
          desc: k.desc === 1,
          collation: k.coll,
        })),
        where: ix.partial === 1 ? (parsed?.where ?? null) : null,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

function describeForeignKeys(db: Database.Database, table: string, sql: string): SourceTable['foreignKeys'] {
  const rows = db.prepare(`SELECT * FROM pragma_foreign_key_list(${quoteLiteral(table)}) ORDER BY id, seq`).all() as {
    id: number;
    table: string;
    from: string;
    to: string | null;
    on_update: string;
    on_delete: string;
  }[];
  const byId = new Map<number, SourceTable['foreignKeys'][number]>();
  for (const r of rows) {
    let fk = byId.get(r.id);
    if (!fk) {
      fk = {
        parentTable: r.table,
        columns: [],
        parentColumns: [],
        onUpdate: r.on_update,
        onDelete: r.on_delete,
        deferral: null,
      };
      byId.set(r.id, fk);
    }
    fk.columns.push(r.from);
    if (r.to !== null) fk.parentColumns.push(r.to);
  }
  // The pragma numbers foreign keys in reverse declaration order; the clauses come in declaration order.
  const deferral = parseForeignKeyDeferral(sql).reverse();
  const keys = [...byId.values()];
  if (deferral.length === keys.length) keys.forEach((fk, i) => (fk.deferral = deferral[i] ?? null));
  return keys;
}

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
