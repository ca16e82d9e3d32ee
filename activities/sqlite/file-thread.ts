/**
 * Whole-file SQLite reads that take time on a large database — `PRAGMA quick_check`, `count(*)` of a table
 * — run on a thread of their own, so the activity's thread keeps heartbeating and the worker's event loop
 * stays free. This file is both the API (main thread) and the thread script.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { quoteIdent } from './identifiers';
import { runThreadJob, threadErrorMessage, threadScript } from './read-thread';

type FileJob = { op: 'quick_check'; path: string } | { op: 'count'; path: string; table: string };

const SCRIPT = threadScript(__dirname, 'activities/sqlite/file-thread');

/** `PRAGMA quick_check` of a file on a thread: 'ok', or the problems found, on one line. */
export async function quickCheck(path: string, signal?: AbortSignal): Promise<string> {
  const job: FileJob = { op: 'quick_check', path };
  return (await runThreadJob(SCRIPT, job, () => undefined, signal)) as string;
}

/** `SELECT count(*)` of one table on a thread. */
export async function countRows(path: string, table: string, signal?: AbortSignal): Promise<number> {
  const job: FileJob = { op: 'count', path, table };
  return (await runThreadJob(SCRIPT, job, () => undefined, signal)) as number;
}

function run(job: FileJob): unknown {
  const db = new Database(job.path, { readonly: true, fileMustExist: true });
  try {
    if (job.op === 'quick_check') return String(db.pragma('quick_check', { simple: true })).replace(/\s*\n\s*/g, '; ');
    return Number(
      db
        .prepare(`SELECT count(*) FROM ${quoteIdent(job.table)}`)
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
