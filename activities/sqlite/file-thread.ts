/**
 * Whole-file SQLite reads that take time on a large database — `PRAGMA quick_check`, `count(*)` of a table
 * — run on a thread of their own, so the activity's thread keeps heartbeating and the worker's event loop
 * stays free. This file is both the API (main thread) and the thread script.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { quoteIdent } from './identifiers';
import { runThreadJob, threadErrorMessage, threadScript } from './read-thread';

type FileJob =
  { op: 'quick_check' | 'integrity_check' | 'row_counts'; path: string } | { op: 'count'; path: string; table: string };

const SCRIPT = threadScript(__dirname, 'activities/sqlite/file-thread');

/** `PRAGMA quick_check` of a file on a thread: 'ok', or the problems found, on one line. */
export async function quickCheck(path: string, signal?: AbortSignal): Promise<string> {
  const job: FileJob = { op: 'quick_check', path };
  return (await runThreadJob(SCRIPT, job, () => undefined, signal)) as string;
}

/** `PRAGMA integrity_check` (the full check, with index contents) on a thread: 'ok', or the problems found. */
export async function integrityCheck(path: string, signal?: AbortSignal): Promise<string> {
  const job: FileJob = { op: 'integrity_check', path };
  return (await runThreadJob(SCRIPT, job, () => undefined, signal)) as string;
}

/** Rows of every table (not views, not sqlite_*), on a thread, in one read transaction. */
export async function tableRowCounts(path: string, signal?: AbortSignal): Promise<Record<string, number>> {
  const job: FileJob = { op: 'row_counts', path };
  return (await runThreadJob(SCRIPT, job, () => undefined, signal)) as Record<string, number>;
}

/** `SELECT count(*)` of one table on a thread. */
export async function countRows(path: string, table: string, signal?: AbortSignal): Promise<number> {
  const job: FileJob = { op: 'count', path, table };
  return (await runThreadJob(SCRIPT, job, () => undefined, signal)) as number;
}

function run(job: FileJob): unknown {
  const db = new Database(job.path, { readonly: true, fileMustExist: true });
  try {
    if (job.op === 'quick_check' || job.op === 'integrity_check')
      return String(db.pragma(job.op, { simple: true })).replace(/\s*\n\s*/g, '; ');
    if (job.op === 'row_counts') {
      const tables = db
        .prepare(
          `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`,
        )
        .pluck()
        .all() as string[];
      return db.transaction(() =>
        Object.fromEntries(
          tables.map((t) => [
            t,
            Number(
              db
                .prepare(`SELECT count(*) FROM ${quoteIdent(t)}`)
                .pluck()
                .get(),
            ),
          ]),
        ),
      )();
    }
    return Number(
      db
        .prepare(`SELECT count(*) FROM ${quoteIdent((job as { table: string }).table)}`)
        .pluck()
        .get(),
    );
  } finally {
    db.close();
  }
}

if (!isMainThread && parentPort) {
  try {
    parentPort.postMessage({ type: 'end', result: run(workerData as FileJob) });
  } catch (err) {
    parentPort.postMessage(threadErrorMessage(err));
  }
}
