/**
 * Step 6: the content check (DESIGN decision 6). Reads the table on both sides — SQLite backup and the
 * staging table — reduces every value to its canonical form and compares row counts and order-independent
 * checksums.
 */
import Database from 'better-sqlite3';
import type pg from 'pg';
import Cursor from 'pg-cursor';
import { quoteIdent } from '../sqlite/discover-schema';
import { qi, qualified } from './names';
import type { TablePlan } from './plan-types';
import { RowDigest } from './row-digest';
import { canonicalSource, canonicalTarget, selectExpression, type SqliteValue } from './values';

/** Both sides of one table. */
export interface TableVerification {
  table: string;
  rowsSource: number;
  rowsTarget: number;
  checksumSource: string;
  checksumTarget: string;
  match: boolean;
}

const BATCH = 5_000;

/** Computes both digests at once (PostgreSQL produces rows while JS hashes the SQLite side); `progress` gets rows done. */
export async function verifyTable(
  pool: pg.Pool,
  schema: string,
  backupPath: string,
  table: TablePlan,
  progress: (rows: number) => void,
): Promise<TableVerification> {
  const [source, target] = await Promise.all([
    digestSource(backupPath, table, progress),
    digestTarget(pool, schema, table, progress),
  ]);
  return {
    table: table.name,
    rowsSource: source.rows,
    rowsTarget: target.rows,
    checksumSource: source.value,
    checksumTarget: target.value,
    match: source.value === target.value,
  };
}

async function digestSource(
  backupPath: string,
  table: TablePlan,
  progress: (rows: number) => void,
): Promise<RowDigest> {
  const kinds = table.columns.map((c) => c.kind);
  const zones = table.columns.map((c) => c.timeZone);
  const digest = new RowDigest();
  const db = new Database(backupPath, { readonly: true, fileMustExist: true });
  try {
    const columns = table.columns.map((c) => selectExpression(quoteIdent(c.name), c.kind)).join(', ');
    const statement = db
      .prepare(`SELECT ${columns} FROM ${quoteIdent(table.name)}`)
      .raw(true)
      .safeIntegers(true);
    for (const row of statement.iterate() as IterableIterator<SqliteValue[]>) {
      digest.add(row.map((value, i) => canonicalSource(kinds[i] ?? 'text', value, zones[i])));
      if (digest.rows % BATCH === 0) {
        progress(digest.rows);
        await new Promise((resolve) => setImmediate(resolve)); // let the target side and heartbeats run
      }
    }
    return digest;
  } finally {
    db.close();
  }
}

async function digestTarget(
  pool: pg.Pool,
  schema: string,
  table: TablePlan,
  progress: (rows: number) => void,
): Promise<RowDigest> {
  const kinds = table.columns.map((c) => c.kind);
  const digest = new RowDigest();
  const client = await pool.connect();
  try {
    await client.query("SET TimeZone = 'UTC'");
    const list = table.columns.map((c) => `${qi(c.name)}::text`).join(', ');
    const cursor = client.query(
      new Cursor(`SELECT ${list} FROM ${qualified(schema, table.name)}`, [], { rowMode: 'array' }),
    );
    try {
      for (;;) {
        const rows = (await cursor.read(BATCH)) as (string | null)[][];
        if (rows.length === 0) break;
        for (const row of rows) digest.add(row.map((text, i) => canonicalTarget(kinds[i] ?? 'text', text)));
        progress(digest.rows);
      }
    } finally {
      await cursor.close();
    }
    return digest;
  } finally {
    await client.query('RESET TimeZone').catch(() => undefined);
    client.release();
  }
}
