/**
 * The SQLite side of export and import on worker threads: discovering and profiling, and reading rows into
 * COPY text, are the CPU-heavy work of those steps, and on the activity's own thread they would freeze the
 * worker's event loop (heartbeats, workflow tasks) and compete with the PostgreSQL half for one core. The
 * threads read the backup copy, read-only.
 *
 * `discover` and `profile`: the export, split by tables. `encode`: sends a chunk's COPY text in ~256 KiB pieces (transferred, not
 * copied), at most a few ahead of what the activity has written (it acknowledges each piece), so memory stays
 * bounded whatever the speed of PostgreSQL; and the row digest of the chunk's source values, which
 * verification sums (so the source is read once for both).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { DbopsError, type ErrorCodeValue } from '../../common/errors';
import { quoteIdent } from '../sqlite/discover-schema';
import type { SourceSchema } from '../sqlite/source-schema';
import { buildPlan, type PlanOptions } from './build-plan';
import { discoverBackup, profileBackup, splitByWork, type ProfiledPart } from './export-source';
import type { ChunkPlan, MigrationPlan, TablePlan } from './plan-types';
import { RowDigest } from './row-digest';
import { canonicalSource, copyField, selectExpression, type SqliteValue } from './values';

/** What the activity asks the thread to do. */
export type SourceJob =
  | { op: 'encode'; backupPath: string; table: TablePlan; chunk: ChunkPlan }
  | { op: 'discover'; backupPath: string }
  | { op: 'profile'; backupPath: string; schema: SourceSchema; tables: string[] };

/** What the thread sends back. */
export type SourceMessage =
  | { type: 'data'; bytes: Uint8Array; rows: number }
  | { type: 'end'; rows: number; digest?: string; result?: unknown }
  | { type: 'table'; table: string }
  | { type: 'error'; message: string; rowProblem: boolean; code?: string; dbops?: boolean; retryable?: boolean };

const FLUSH_CHARS = 256 * 1024;
const AHEAD = 4;

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

/** The compiled thread script (tests run the TypeScript sources; the thread always runs the build). */
function threadScript(): string {
  const beside = join(__dirname, 'source-thread.js');
  return existsSync(beside)
    ? beside
    : join(__dirname, '..', '..', 'dist', 'activities', 'migration', 'source-thread.js');
}

/** Starts a job on a new thread; `onMessage` gets every message; resolves when the thread has exited. */
export function startSourceThread(
  job: SourceJob,
  onMessage: (message: SourceMessage, ack: () => void) => void,
): { done: Promise<void>; stop: () => Promise<void> } {
  // A small young generation: the thread allocates fast and V8 would otherwise grow it to 3×16 MB per thread.
  const thread = new Worker(threadScript(), { workerData: job, resourceLimits: { maxYoungGenerationSizeMb: 6 } });
  const done = new Promise<void>((resolve, reject) => {
    thread.on('message', (message: SourceMessage) => onMessage(message, () => thread.postMessage('ack')));
    thread.on('error', reject);
    thread.on('exit', () => resolve());
  });
  return { done, stop: async () => void (await thread.terminate()) };
}

/**
 * Discovery, profiling and the plan on threads: minutes of synchronous SQLite work that would otherwise
 * freeze the worker's event loop (heartbeats, workflow tasks, other activities). Discovery first, then the
 * tables profiled on `parallelism` threads at once (split by work), then the plan. Stops on `signal`.
 */
export async function exportInThreads(
  backupPath: string,
  options: Omit<PlanOptions, 'orphans'>,
  parallelism: number,
  onTable: (table: string, done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<MigrationPlan> {
  const schema = (await runJob({ op: 'discover', backupPath }, () => undefined, signal)) as SourceSchema;
  let done = 0;
  const parts = (await Promise.all(
    splitByWork(schema.tables, parallelism).map((tables) =>
      runJob(
        { op: 'profile', backupPath, schema, tables },
        (table) => onTable(table, ++done, schema.tables.length),
        signal,
      ),
    ),
  )) as ProfiledPart[];
  const profiles = Object.assign({}, ...parts.map((p) => p.profiles)) as ProfiledPart['profiles'];
  const orphans = Object.assign({}, ...parts.map((p) => p.orphans)) as ProfiledPart['orphans'];
  return buildPlan(schema, profiles, { ...options, orphans });
}

/** Runs one discover/profile job on a thread and returns its result (errors keep their dbops code). */
async function runJob(job: SourceJob, onTable: (table: string) => void, signal?: AbortSignal): Promise<unknown> {
  let result: unknown;
  let ended = false;
  let failure: Error | undefined;
  const thread = startSourceThread(job, (message) => {
    if (message.type === 'table') onTable(message.table);
    else if (message.type === 'end') {
      result = message.result;
      ended = true;
    } else if (message.type === 'error') {
      failure = message.dbops
        ? new DbopsError(message.code as ErrorCodeValue, message.message, { retryable: message.retryable })
        : Object.assign(new Error(message.message), { code: message.code });
    }
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
  if (!ended) throw new Error(`the ${job.op} thread stopped without a result`);
  return result;
}

async function encode(db: Database.Database, table: TablePlan, chunk: ChunkPlan): Promise<void> {
  let credits = AHEAD;
  let wake: (() => void) | undefined;
  parentPort?.on('message', () => {
    credits += 1;
    wake?.();
  });
  const { sql, params } = chunkQuery(table, chunk);
  const statement = db.prepare(sql).raw(true).safeIntegers(!table.integersFitDouble);
  const kinds = table.columns.map((c) => c.kind);
  const zones = table.columns.map((c) => c.timeZone);
  const encoder = new TextEncoder();
  // The source side of verification is computed here, from the values as read (not from the COPY text),
  // so the rows are read once for both; see verify-table.ts.
  const rowDigest = new RowDigest();
  const canonical: (string | null)[] = new Array<string | null>(table.columns.length).fill(null);
  let text = '';
  let rows = 0;
  const send = async (): Promise<void> => {
    while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
    credits -= 1;
    const bytes = encoder.encode(text);
    parentPort?.postMessage({ type: 'data', bytes, rows } satisfies SourceMessage, [bytes.buffer]);
    text = '';
  };
  for (const row of statement.iterate(...params) as IterableIterator<SqliteValue[]>) {
    let line = '';
    try {
      // One pass per value for both forms: the timestamp parser remembers the text it just read.
      for (let i = 0; i < row.length; i++) {
        const kind = kinds[i] ?? 'text';
        const value = row[i] ?? null;
        line += i === 0 ? copyField(kind, value, zones[i]) : `\t${copyField(kind, value, zones[i])}`;
        canonical[i] = canonicalSource(kind, value, zones[i]);
      }
      rowDigest.add(canonical);
    } catch (err) {
      const message = `${table.name}: row ${rows + 1} of chunk ${chunk.index} cannot be converted: ${(err as Error).message}`;
      parentPort?.postMessage({ type: 'error', message, rowProblem: true } satisfies SourceMessage);
      return;
    }
    text += `${line}\n`;
    rows += 1;
    if (text.length >= FLUSH_CHARS) await send();
  }
  if (text.length > 0) await send();
  parentPort?.postMessage({ type: 'end', rows, digest: rowDigest.value } satisfies SourceMessage);
}

async function main(job: SourceJob): Promise<void> {
  if (job.op !== 'encode') {
    try {
      const result =
        job.op === 'discover'
          ? discoverBackup(job.backupPath)
          : profileBackup(job.backupPath, job.schema, job.tables, (table) =>
              parentPort?.postMessage({ type: 'table', table } satisfies SourceMessage),
            );
      parentPort?.postMessage({ type: 'end', rows: 0, result } satisfies SourceMessage);
    } catch (err) {
      const e = err as Error & { code?: unknown };
      parentPort?.postMessage({
        type: 'error',
        message: e.message,
        rowProblem: false,
        code: typeof e.code === 'string' ? e.code : undefined,
        dbops: err instanceof DbopsError,
        retryable: err instanceof DbopsError ? err.retryable : undefined,
      } satisfies SourceMessage);
    }
    return;
  }
  const db = new Database(job.backupPath, { readonly: true, fileMustExist: true });
  try {
    await encode(db, job.table, job.chunk);
  } catch (err) {
    parentPort?.postMessage({
      type: 'error',
      message: (err as Error).message,
      rowProblem: false,
    } satisfies SourceMessage);
  } finally {
    db.close();
    parentPort?.removeAllListeners('message'); // lets the thread exit
  }
}

if (!isMainThread && parentPort) void main(workerData as SourceJob);
