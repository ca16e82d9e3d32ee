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
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { quoteIdent } from '../sqlite/identifiers';
import {
  acknowledgements,
  runThreadJob,
  startThread,
  threadErrorMessage,
  threadScript,
  type ThreadEndMessage,
  type ThreadErrorMessage,
} from '../sqlite/read-thread';
import type { SourceSchema } from '../sqlite/source-schema';
import { buildPlan, type PlanOptions } from './build-plan';
import { discoverBackup, profileBackup, splitByWork, type ProfiledPart } from './export-source';
import type { ChunkPlan, MigrationPlan, TablePlan } from '../../common/contracts/migration-plan';
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
  | (ThreadEndMessage & { rows: number; digest?: string })
  | { type: 'table'; table: string }
  | ThreadErrorMessage;

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

const SCRIPT = threadScript(__dirname, 'activities/migration/source-thread');

/** Starts a job on a new thread; `onMessage` gets every message; resolves when the thread has exited. */
export function startSourceThread(
  job: SourceJob,
  onMessage: (message: SourceMessage, ack: () => void) => void,
): { done: Promise<void>; stop: () => Promise<void> } {
  return startThread(SCRIPT, job, onMessage);
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
function runJob(job: SourceJob, onTable: (table: string) => void, signal?: AbortSignal): Promise<unknown> {
  return runThreadJob<SourceMessage>(
    SCRIPT,
    job,
    (message) => {
      if (message.type === 'table') onTable(message.table);
    },
    signal,
  );
}

async function encode(db: Database.Database, table: TablePlan, chunk: ChunkPlan): Promise<void> {
  const acks = acknowledgements(AHEAD);
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
    await acks.take();
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
      parentPort?.postMessage(threadErrorMessage(err) satisfies SourceMessage);
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
