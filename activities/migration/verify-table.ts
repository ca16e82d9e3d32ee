/**
 * Step 6: the content check (docs/architecture.md: verification compares content). Both sides reduce every value to its canonical form and
 * hash the rows into order-independent checksums: the SQLite side while the import read the backup (one
 * digest per chunk, in the ledger), the PostgreSQL side here by reading the staging table back. Row counts
 * and checksums must match, and the chunks must cover every row of the source table.
 */
import type pg from 'pg';
import Cursor from 'pg-cursor';
import { countRows } from '../sqlite/file-thread';
import { qi, qualified } from '../postgres/identifiers';
import type { TableVerification } from '../../common/contracts/migration';
import type { TablePlan } from '../../common/contracts/migration-plan';
import { RowDigest } from './row-digest';
import { canonicalTarget } from './values';

const BATCH = 500;

/** Computes both digests at once (PostgreSQL produces rows while JS hashes the SQLite side); `progress` gets rows done. */
export async function verifyTable(
  pool: pg.Pool,
  schema: string,
  backupPath: string,
  table: TablePlan,
  progress: (rows: number) => void,
  signal?: AbortSignal,
): Promise<TableVerification> {
  const source = await digestSource(pool, schema, backupPath, table);
  const target = await digestTarget(pool, schema, table, progress, signal);
  return {
    table: table.name,
    rowsSource: source.rows,
    rowsTarget: target.rows,
    checksumSource: source.value,
    checksumTarget: target.value,
    match: source.problem === undefined && source.rows === target.rows && source.value === target.value,
    ...(source.problem ? { problem: source.problem } : {}),
  };
}

/**
 * The SQLite side: the row digests the import computed from the source values of each chunk as it read
 * them (recorded in the ledger with the chunk, in the same transaction), summed; and the table's row
 * count read from the backup itself, so a row that no chunk covered is still noticed.
 */
async function digestSource(
  pool: pg.Pool,
  schema: string,
  backupPath: string,
  table: TablePlan,
): Promise<{ rows: number; value: string; problem?: string }> {
  const rows = await countRows(backupPath, table.name); // on a thread: a full scan on a large table
  const ledger = await pool.query<{ chunk: number; source_digest: string }>(
    `SELECT chunk, source_digest FROM ${qualified(schema, '__dbops_chunks')} WHERE table_name = $1`,
    [table.name],
  );
  const digest = new RowDigest();
  for (const row of ledger.rows) digest.merge(row.source_digest);
  const recorded = new Set(ledger.rows.map((r) => r.chunk));
  const missing = table.chunks.filter((c) => !recorded.has(c.index)).map((c) => c.index);
  const problem =
    missing.length > 0
      ? `chunk(s) ${missing.join(', ')} have no import record`
      : digest.rows !== rows
        ? `the imported chunks cover ${digest.rows} of the source's ${rows} rows`
        : undefined;
  return { rows, value: digest.value, ...(problem ? { problem } : {}) };
}

async function digestTarget(
  pool: pg.Pool,
  schema: string,
  table: TablePlan,
  progress: (rows: number) => void,
  signal?: AbortSignal,
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
        if (signal?.aborted) throw signal.reason; // rollback: stop reading
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
