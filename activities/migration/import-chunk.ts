/**
 * Step 4: copy one key range of one table from the SQLite backup into the staging table with COPY, in one
 * transaction that also records the chunk in the ledger. A retry finds the ledger row and returns the
 * recorded count (the chunk committed), or finds nothing (it rolled back) and copies again: no duplicate,
 * no lost row (DESIGN decision 3).
 */
import { once } from 'node:events';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DbopsError, ErrorCode } from '../../common/errors';
import { quoteIdent } from '../sqlite/discover-schema';
import { qi, qualified } from './names';
import type { ChunkPlan, TablePlan } from './plan-types';
import { copyField, selectExpression, type SqliteValue } from './values';

/** Progress reported while copying. */
export type ChunkProgress = (rowsDone: number) => void;

const FLUSH_BYTES = 256 * 1024;
const PROGRESS_EVERY = 5_000;

/** The SELECT that reads a chunk (or a whole table) in a stable order. */
export function chunkQuery(table: TablePlan, chunk: ChunkPlan): { sql: string; params: string[] } {
  const columns = table.columns.map((c) => selectExpression(quoteIdent(c.name), c.kind)).join(', ');
  const from = `FROM ${quoteIdent(table.name)}`;
  if (chunk.from !== undefined && chunk.to !== undefined) {
    return {
      sql: `SELECT ${columns} ${from} WHERE rowid BETWEEN ? AND ? ORDER BY rowid`,
      params: [chunk.from, chunk.to],
    };
  }
  return { sql: `SELECT ${columns} ${from}`, params: [] };
}

/** Copies the chunk unless the ledger says it is done; returns the rows it holds. */
export async function importChunk(
  pool: pg.Pool,
  staging: string,
  backupPath: string,
  table: TablePlan,
  chunk: ChunkPlan,
  progress: ChunkProgress,
  signal?: AbortSignal,
): Promise<{ rows: number; skipped: boolean }> {
  const client = await pool.connect();
  let db: Database.Database | undefined;
  try {
    const ledger = qualified(staging, '__dbops_chunks');
    const done = await client.query<{ rows: string }>(
      `SELECT rows FROM ${ledger} WHERE table_name = $1 AND chunk = $2`,
      [table.name, chunk.index],
    );
    if (done.rows[0]) return { rows: Number(done.rows[0].rows), skipped: true };

    await client.query('BEGIN');
    const copy = client.query(
      copyFrom(
        `COPY ${qualified(staging, table.name)} (${table.columns.map((c) => qi(c.name)).join(', ')}) FROM STDIN`,
      ),
    );
    const finished = once(copy, 'finish');
    // Awaited below on success; when the loop throws first (a dead connection), its rejection must not go unhandled.
    finished.catch(() => undefined);
    db = new Database(backupPath, { readonly: true, fileMustExist: true });
    const { sql, params } = chunkQuery(table, chunk);
    const statement = db.prepare(sql).raw(true).safeIntegers(true);
    const kinds = table.columns.map((c) => c.kind);
    const zones = table.columns.map((c) => c.timeZone);
    let buffer = '';
    let rows = 0;
    for (const row of statement.iterate(...params) as IterableIterator<SqliteValue[]>) {
      try {
        buffer += `${row.map((value, i) => copyField(kinds[i] ?? 'text', value, zones[i])).join('\t')}\n`;
      } catch (err) {
        throw new DbopsError(
          ErrorCode.BadInput,
          `${table.name}: row ${rows + 1} of chunk ${chunk.index} cannot be converted: ${(err as Error).message}`,
        );
      }
      rows += 1;
      if (buffer.length >= FLUSH_BYTES) {
        // Waiting for 'drain' also yields the event loop, so heartbeats and cancellation get through.
        if (!copy.write(buffer)) await once(copy, 'drain');
        buffer = '';
        // Cancelled (rollback): stop here; the ROLLBACK below undoes this chunk before compensation runs.
        if (signal?.aborted) throw cancelled(signal, table, chunk);
      }
      if (rows % PROGRESS_EVERY === 0) progress(rows);
    }
    if (signal?.aborted) throw cancelled(signal, table, chunk);
    copy.end(buffer);
    await finished;
    await client.query(`INSERT INTO ${ledger} (table_name, chunk, rows) VALUES ($1, $2, $3)`, [
      table.name,
      chunk.index,
      rows,
    ]);
    await client.query('COMMIT');
    progress(rows);
    return { rows, skipped: false };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw describeCopyError(err, table.name);
  } finally {
    db?.close();
    client.release();
  }
}

/** The abort reason (Temporal puts its CancelledFailure there, so the attempt is reported as cancelled). */
function cancelled(signal: AbortSignal, table: TablePlan, chunk: ChunkPlan): unknown {
  return signal.reason ?? new Error(`import of ${table.name} chunk ${chunk.index} cancelled`);
}

/** A data error PostgreSQL raised while loading (class 22/23) will fail again: make it non-retryable. */
function describeCopyError(err: unknown, table: string): unknown {
  const e = err as { code?: string; message?: string; where?: string };
  if (typeof e.code === 'string' && /^2[23]/.test(e.code)) {
    return new DbopsError(
      ErrorCode.BadInput,
      `${table}: PostgreSQL rejected a value (${e.code}: ${e.message}${e.where ? `; ${e.where}` : ''})`,
      { cause: err },
    );
  }
  return err;
}
