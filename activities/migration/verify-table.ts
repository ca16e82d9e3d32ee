/**
 * Step 6: the content check (DESIGN decision 6). Reads the table on both sides — SQLite backup and the
 * staging table — reduces every value to its canonical form and compares row counts and order-independent
 * checksums.
 */
import type pg from 'pg';
import Cursor from 'pg-cursor';
import { qi, qualified } from './names';
import type { TablePlan } from './plan-types';
import { RowDigest } from './row-digest';
import { startSourceThread } from './source-thread';
import { canonicalTarget } from './values';

/** Both sides of one table. */
export interface TableVerification {
  table: string;
  rowsSource: number;
  rowsTarget: number;
  checksumSource: string;
  checksumTarget: string;
  match: boolean;
}

const BATCH = 2_000;

/** Computes both digests at once (PostgreSQL produces rows while JS hashes the SQLite side); `progress` gets rows done. */
export async function verifyTable(
  pool: pg.Pool,
  schema: string,
  backupPath: string,
  table: TablePlan,
  progress: (rows: number) => void,
  signal?: AbortSignal,
): Promise<TableVerification> {
  const [source, target] = await Promise.all([
    digestSource(backupPath, table, progress, signal),
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

/** The SQLite side, computed on a worker thread (see source-thread.ts). */
async function digestSource(
  backupPath: string,
  table: TablePlan,
  progress: (rows: number) => void,
  signal?: AbortSignal,
): Promise<{ rows: number; value: string }> {
  let outcome: { rows: number; value: string } | undefined;
  let failure: Error | undefined;
  const thread = startSourceThread({ op: 'digest', backupPath, table }, (message) => {
    if (message.type === 'progress') progress(message.rows);
    else if (message.type === 'end') outcome = { rows: message.rows, value: message.digest ?? '' };
    else if (message.type === 'error') failure = new Error(`${table.name}: ${message.message}`);
  });
  const stop = () => void thread.stop();
  signal?.addEventListener('abort', stop);
  try {
    await thread.done;
  } finally {
    signal?.removeEventListener('abort', stop);
  }
  if (signal?.aborted) throw signal.reason;
  if (failure) throw failure;
  if (!outcome) throw new Error(`${table.name}: the source digest thread stopped without a result`);
  return outcome;
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
