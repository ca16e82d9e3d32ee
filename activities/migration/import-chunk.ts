/**
 * Step 4: copy one key range of one table from the SQLite backup into the staging table with COPY, in one
 * transaction that also records the chunk in the ledger (with the row digest of its source values, which
 * verification sums). A retry finds the ledger row and returns the
 * recorded count (the chunk committed), or finds nothing (it rolled back) and copies again: no duplicate,
 * no lost row (every step is idempotent: docs/architecture.md).
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type pg from 'pg';
import { DbopsError, ErrorCode } from '../../common/errors';
import { copyInto, describeCopyError } from '../postgres/copy';
import { qualified } from '../postgres/identifiers';
import type { ChunkPlan, TablePlan } from '../../common/contracts/migration-plan';
import { type SourceMessage, startSourceThread } from './source-thread';

/** Progress reported while copying. */
export type ChunkProgress = (rowsDone: number) => void;

const PROGRESS_EVERY = 5_000;

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
  let copy: ReturnType<typeof copyInto> | undefined;
  const ledger = qualified(staging, '__dbops_chunks');
  const recorded = async (): Promise<number | undefined> => {
    const done = await client.query<{ rows: string }>(
      `SELECT rows FROM ${ledger} WHERE table_name = $1 AND chunk = $2`,
      [table.name, chunk.index],
    );
    return done.rows[0] ? Number(done.rows[0].rows) : undefined;
  };
  try {
    const already = await recorded();
    if (already !== undefined) return { rows: already, skipped: true };

    await client.query('BEGIN');
    copy = copyInto(
      client,
      staging,
      table.name,
      table.columns.map((c) => c.name),
    );
    const { rows, digest } = await pumpFromThread(copy, backupPath, table, chunk, progress, signal);
    if (copy.failure()) throw copy.failure();
    copy.stream.end();
    await copy.finished;
    await client.query(`INSERT INTO ${ledger} (table_name, chunk, rows, source_digest) VALUES ($1, $2, $3, $4)`, [
      table.name,
      chunk.index,
      rows,
      digest,
    ]);
    await client.query('COMMIT');
    progress(rows);
    return { rows, skipped: false };
  } catch (err) {
    // A COPY still open (cancelled, or the source side failed) is aborted first (CopyFail): until it ends,
    // the connection would queue the ROLLBACK behind it forever.
    if (copy && !copy.failure() && !copy.stream.writableFinished) {
      const closed = once(copy.stream, 'close').catch(() => undefined);
      copy.stream.destroy(new Error(`import of ${table.name} chunk ${chunk.index} stopped`));
      await closed;
    }
    await client.query('ROLLBACK').catch(() => undefined);
    // Another attempt of this chunk (a stale one the server had given up on) committed first: the chunk
    // is done, and this attempt's rows were rolled back with its transaction.
    if ((err as { code?: string; constraint?: string }).constraint === '__dbops_chunks_pkey') {
      const rows = await recorded().catch(() => undefined);
      if (rows !== undefined) return { rows, skipped: true };
    }
    throw describeCopyError(err, table.name);
  } finally {
    client.release();
  }
}

/**
 * Writes what the source thread encodes into the COPY, piece by piece (acknowledging each once written, so
 * the thread stays only a few pieces ahead); returns the rows and their source digest. Stops the thread on cancellation or error.
 */
async function pumpFromThread(
  copy: { stream: Writable; failure: () => unknown },
  backupPath: string,
  table: TablePlan,
  chunk: ChunkPlan,
  progress: ChunkProgress,
  signal?: AbortSignal,
): Promise<{ rows: number; digest: string }> {
  const queue: { message: SourceMessage; ack: () => void }[] = [];
  let wake: (() => void) | undefined;
  let exit: unknown;
  const fault = process.env.DBOPS_FAULT_ENCODE; // tests only: see faultyFieldSql
  const thread = startSourceThread({ op: 'encode', backupPath, table, chunk, fault }, (message, ack) => {
    queue.push({ message, ack });
    wake?.();
  });
  thread.done.then(
    () => {
      exit ??= new Error(`the source thread of ${table.name} chunk ${chunk.index} stopped without finishing`);
      wake?.();
    },
    (err: unknown) => {
      exit = err;
      wake?.();
    },
  );
  let lastProgress = 0;
  try {
    for (;;) {
      const next = queue.shift();
      if (!next) {
        if (exit !== undefined) throw exit;
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const { message, ack } = next;
      if (message.type === 'error')
        throw message.rowProblem ? new DbopsError(ErrorCode.BadInput, message.message) : new Error(message.message);
      if (message.type === 'end') return { rows: message.rows, digest: message.digest ?? '' };
      if (message.type !== 'data') continue;
      if (copy.failure()) throw copy.failure();
      // Waiting for 'drain' also yields the event loop, so heartbeats and cancellation get through.
      if (!copy.stream.write(message.bytes)) {
        if (copy.failure()) throw copy.failure();
        await once(copy.stream, 'drain');
      }
      ack();
      // Cancelled (rollback): stop here; the ROLLBACK undoes this chunk before compensation runs.
      if (signal?.aborted) throw cancelled(signal, table, chunk);
      if (message.rows - lastProgress >= PROGRESS_EVERY) {
        lastProgress = message.rows;
        progress(message.rows);
      }
    }
  } finally {
    await thread.stop();
  }
}

/** The abort reason (Temporal puts its CancelledFailure there, so the attempt is reported as cancelled). */
function cancelled(signal: AbortSignal, table: TablePlan, chunk: ChunkPlan): unknown {
  return signal.reason ?? new Error(`import of ${table.name} chunk ${chunk.index} cancelled`);
}
