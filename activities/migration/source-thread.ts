/**
 * The SQLite side of export, import and verification on worker threads: discovering and profiling, and
 * reading rows into COPY text, are the CPU-heavy work of those steps, and on the activity's own thread they
 * would freeze the worker's event loop (heartbeats, workflow tasks) and compete with the PostgreSQL half for
 * one core. The threads read the backup copy, read-only.
 *
 * `discover` and `profile`: the export, split by tables. `encode`: SQLite spells a chunk's COPY text itself
 * (copy-sql.ts) in pieces of ~256 KiB of bytes, sent (transferred, not copied) at most a few ahead of what the
 * activity has written (it acknowledges each piece), so memory stays bounded whatever the speed of
 * PostgreSQL; the same read also yields the chunk's source checksum for verification, from the canonical
 * texts SQLite builds apart from the encoder (canonical-source.ts), so the source is read once for both.
 * `columns`: one checksum per column of a whole table, to name the columns that differ after a mismatch.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { quoteIdent } from '../sqlite/identifiers';
import {
  ACK,
  acknowledgements,
  runThreadJob,
  startThread,
  threadErrorMessage,
  THREAD_LIMITS,
  threadScript,
  type ThreadEndMessage,
  type ThreadErrorMessage,
} from '../sqlite/read-thread';
import type { SourceSchema } from '../sqlite/source-schema';
import { buildPlan, type PlanOptions } from './build-plan';
import { discoverBackup, profileBackup, splitByWork, type ProfiledPart } from './export-source';
import type { ChunkPlan, MigrationPlan, TablePlan } from '../../common/contracts/migration-plan';
import { canonicalFieldSql, canonicalRowSql, registerCanonicalFunctions } from './canonical-source';
import { copyLineSql, holdsCopyEscapes, registerCopyFunctions, textColumns, ValueProblem } from './copy-sql';
import { RowHashSum } from './row-hash';

/** What the activity asks the thread to do. */
export type SourceJob =
  | { op: 'encode'; backupPath: string; table: TablePlan; chunk: ChunkPlan; fault?: string }
  | { op: 'discover'; backupPath: string }
  | { op: 'profile'; backupPath: string; schema: SourceSchema; tables: string[] }
  | { op: 'columns'; backupPath: string; table: TablePlan; mode: ColumnCheck };

/** What the thread sends back. */
export type SourceMessage =
  | { type: 'data'; bytes: Uint8Array; rows: number }
  | (ThreadEndMessage & { rows: number; digest?: string })
  | { type: 'table'; table: string }
  | ThreadErrorMessage;

/** Bytes per piece sent to the activity: large enough that per-piece costs vanish, small enough to bound memory. */
const PIECE_BYTES = 256 * 1024;
const AHEAD = 4;

const SCRIPT = threadScript(__dirname, 'activities/migration/source-thread');

/**
 * Encoding threads kept between chunks: a new thread costs ~70 ms of CPU (an isolate, better-sqlite3, these
 * modules) and a run has dozens of chunks. A thread returns here only after its job ended cleanly; a job
 * stopped midway (cancelled, failed to write) terminates its thread. Idle threads do not hold the process.
 */
const idleThreads: Worker[] = [];
const KEEP_IDLE = 4;

/**
 * Starts a job on a thread; `onMessage` gets every message. `done` resolves once the job has ended (its last
 * message delivered) or its thread has exited; `stop()` must follow, whatever happened.
 */
export function startSourceThread(
  job: SourceJob,
  onMessage: (message: SourceMessage, ack: () => void) => void,
): { done: Promise<void>; stop: () => Promise<void> } {
  if (job.op !== 'encode') return startThread(SCRIPT, job, onMessage);
  const thread = idleThreads.pop() ?? pooledThread();
  thread.ref();
  let ended = false;
  let settle: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  const ack = () => thread.postMessage(ACK);
  const onThreadMessage = (message: SourceMessage): void => {
    onMessage(message, ack);
    if (message.type === 'end' || message.type === 'error') {
      ended = true;
      settle?.resolve();
    }
  };
  const onError = (err: unknown): void => settle?.reject(err);
  const onExit = (): void => settle?.resolve();
  thread.on('message', onThreadMessage);
  thread.on('error', onError);
  thread.on('exit', onExit);
  thread.postMessage({ type: 'job', job } satisfies PoolMessage);
  return {
    done,
    stop: async () => {
      thread.off('message', onThreadMessage);
      thread.off('error', onError);
      thread.off('exit', onExit);
      if (ended && idleThreads.length < KEEP_IDLE) {
        thread.unref();
        idleThreads.push(thread);
      } else await thread.terminate();
    },
  };
}

/** A new pooled thread; one that dies while idle leaves the pool (a job sent to it would never end). */
function pooledThread(): Worker {
  const thread = new Worker(SCRIPT, { workerData: { op: 'pool' }, resourceLimits: THREAD_LIMITS });
  thread.once('exit', () => {
    const at = idleThreads.indexOf(thread);
    if (at >= 0) idleThreads.splice(at, 1);
  });
  thread.on('error', () => undefined); // a job's own listener reports it; an idle thread's death is its exit
  return thread;
}

/** A job for a pooled thread. */
type PoolMessage = { type: 'job'; job: Extract<SourceJob, { op: 'encode' }> };

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

/**
 * Checksums per column of a whole table of the backup, to name the columns that differ after a mismatch:
 * `each`, of each column alone (a changed value); `without`, of the rows without that column (values moved
 * between rows leave a column's own checksum intact, but the rows match again once it is left out).
 */
export type ColumnCheck = 'each' | 'without';

/** One checksum per column (see `ColumnCheck`), from the backup. */
export async function sourceColumnChecksums(
  backupPath: string,
  table: TablePlan,
  mode: ColumnCheck,
  signal?: AbortSignal,
): Promise<string[]> {
  return (await runJob({ op: 'columns', backupPath, table, mode }, () => undefined, signal)) as string[];
}

/** Runs one discover/profile/columns job on a thread and returns its result (errors keep their dbops code). */
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

/** Whether the database stores text as UTF-8 (else SQL hands out UTF-16 bytes, and text must go through JS). */
function isUtf8(db: Database.Database): boolean {
  return db.pragma('encoding', { simple: true }) === 'UTF-8';
}

/** The column a chunk's key range is on: the rowid, or the leading integer key of a WITHOUT ROWID table. */
function rangeColumn(chunk: ChunkPlan): string {
  return chunk.column === undefined ? 'rowid' : quoteIdent(chunk.column);
}

/** A Buffer SQLite returned, as bytes that can be transferred (a Buffer may sit in a shared pool). */
function transferable(bytes: Buffer): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
}

/**
 * Sends a chunk's COPY text and its source checksum. A rowid chunk is read in sub-ranges whose width adapts
 * so each comes back as one ~256 KiB byte string (group_concat in SQLite: no row becomes a JS value); a
 * WITHOUT ROWID table (one chunk) row by row.
 */
async function encode(db: Database.Database, table: TablePlan, chunk: ChunkPlan, fault?: string): Promise<void> {
  registerCopyFunctions(db);
  registerCanonicalFunctions(db);
  const acks = acknowledgements(AHEAD);
  try {
    await encodeWith(db, table, chunk, acks.take, fault);
  } finally {
    acks.dispose();
  }
}

async function encodeWith(
  db: Database.Database,
  table: TablePlan,
  chunk: ChunkPlan,
  take: () => Promise<void>,
  fault?: string,
): Promise<void> {
  const utf8 = isUtf8(db);
  const tableSql = quoteIdent(table.name);
  const canonical = canonicalRowSql(table.columns, utf8);
  const inner = (plain?: ReadonlySet<string>) =>
    `SELECT ${copyLineSql(table, utf8, plain, fault)} AS line, ${canonical} AS canon FROM ${tableSql}`;
  const checksum = new RowHashSum();
  let rows = 0;
  const send = async (bytes: Uint8Array): Promise<void> => {
    await take();
    parentPort?.postMessage({ type: 'data', bytes, rows } satisfies SourceMessage, [bytes.buffer as ArrayBuffer]);
  };
  if (utf8 && chunk.from !== undefined && chunk.to !== undefined) {
    // The canonical texts come back NUL-separated in one byte string too (no canonical text holds a NUL).
    const where = `${rangeColumn(chunk)} BETWEEN ? AND ?`;
    const pieces = new Map<string, Database.Statement>();
    const piece = (plain: ReadonlySet<string>): Database.Statement => {
      const key = [...plain].join('\0');
      let statement = pieces.get(key);
      if (!statement) {
        statement = db
          .prepare(
            `SELECT count(*), CAST(group_concat(line, '') AS BLOB), CAST(group_concat(canon, char(0)) AS BLOB) FROM (${inner(plain)} WHERE ${where})`,
          )
          .raw(true)
          .safeIntegers(true);
        pieces.set(key, statement);
      }
      return statement;
    };
    // Which text columns of a sub-range need COPY's escapes: their bytes, concatenated by SQLite (a copy, no
    // parsing), searched by memchr — far cheaper than four replace() calls on every value that needs none.
    const texts = textColumns(table);
    const probe =
      texts.length > 0
        ? db
            .prepare(
              `SELECT ${texts.map((c) => `CAST(group_concat(${quoteIdent(c)}, '') AS BLOB)`).join(', ')} FROM ${tableSql} WHERE ${where}`,
            )
            .raw(true)
        : null;
    const plainIn = (from: bigint, to: bigint): ReadonlySet<string> => {
      if (!probe) return new Set();
      const bytes = probe.get(from, to) as (Buffer | null)[];
      return new Set(texts.filter((_, i) => !holdsCopyEscapes(bytes[i] ?? null)));
    };
    const last = BigInt(chunk.to);
    let width = 1024n;
    for (let from = BigInt(chunk.from); from <= last;) {
      const to = from + width - 1n < last ? from + width - 1n : last;
      const [count, text, canon] = piece(plainIn(from, to)).get(from, to) as [bigint, Buffer | null, Buffer | null];
      from = to + 1n;
      if (count === 0n || text === null || canon === null) {
        width *= 2n; // a gap in the keys
        continue;
      }
      rows += Number(count);
      checksum.addSeparated(canon, Number(count));
      // Aim the next sub-range at PIECE_BYTES from this one's bytes per key.
      const next = (width * BigInt(PIECE_BYTES)) / BigInt(Math.max(1, text.byteLength));
      width = next < 16n ? 16n : next > 1_000_000n ? 1_000_000n : next;
      await send(transferable(text));
    }
  } else {
    // A UTF-16 database (SQL hands out UTF-16 bytes) or a table read whole: row by row.
    const encoder = new TextEncoder();
    const range = chunk.from !== undefined && chunk.to !== undefined;
    const statement = db
      .prepare(range ? `${inner()} WHERE ${rangeColumn(chunk)} BETWEEN ? AND ?` : inner())
      .raw(true)
      .safeIntegers(true);
    let text = '';
    const params = range ? [BigInt(chunk.from ?? 0), BigInt(chunk.to ?? 0)] : [];
    for (const [line, canon] of statement.iterate(...params) as IterableIterator<[string, string]>) {
      text += line;
      checksum.addText(canon);
      rows += 1;
      if (text.length >= PIECE_BYTES) {
        await send(encoder.encode(text));
        text = '';
      }
    }
    if (text.length > 0) await send(encoder.encode(text));
  }
  parentPort?.postMessage({ type: 'end', rows, digest: checksum.value } satisfies SourceMessage);
}

/** One checksum per column over the whole table: see `sourceColumnChecksums`. */
function columnChecksums(db: Database.Database, table: TablePlan, mode: ColumnCheck): string[] {
  registerCanonicalFunctions(db);
  const utf8 = isUtf8(db);
  const fields = table.columns.map((c, i) => `${canonicalFieldSql(c, utf8)} AS f${i}`).join(', ');
  const indexes = table.columns.map((_, i) => i);
  const sums = indexes
    .map((i) =>
      mode === 'each'
        ? `dbops_row_hash(f${i})`
        : `dbops_row_hash(${
            indexes
              .filter((j) => j !== i)
              .map((j) => `f${j}`)
              .join(" || ',' || ") || "''"
          })`,
    )
    .join(', ');
  return db
    .prepare(`SELECT ${sums} FROM (SELECT ${fields} FROM ${quoteIdent(table.name)})`)
    .raw(true)
    .get() as string[];
}

function runOnce(job: Exclude<SourceJob, { op: 'encode' }>): unknown {
  if (job.op === 'discover') return discoverBackup(job.backupPath);
  if (job.op === 'profile')
    return profileBackup(job.backupPath, job.schema, job.tables, (table) =>
      parentPort?.postMessage({ type: 'table', table } satisfies SourceMessage),
    );
  const db = new Database(job.backupPath, { readonly: true, fileMustExist: true });
  try {
    return columnChecksums(db, job.table, job.mode);
  } finally {
    db.close();
  }
}

async function main(job: SourceJob): Promise<void> {
  if (job.op !== 'encode') {
    try {
      parentPort?.postMessage({ type: 'end', rows: 0, result: runOnce(job) } satisfies SourceMessage);
    } catch (err) {
      parentPort?.postMessage(threadErrorMessage(err) satisfies SourceMessage);
    }
    return;
  }
  await runEncode(job);
  parentPort?.removeAllListeners('message'); // lets the thread exit
}

/** One encode job: its messages end with `end` or `error`, whatever happens. */
async function runEncode(job: Extract<SourceJob, { op: 'encode' }>): Promise<void> {
  let db: Database.Database | undefined;
  try {
    db = new Database(job.backupPath, { readonly: true, fileMustExist: true });
    await encode(db, job.table, job.chunk, job.fault);
  } catch (err) {
    // A value the kind cannot take is bad input (it will fail again); anything else may be passing.
    const rowProblem = err instanceof ValueProblem;
    parentPort?.postMessage({
      type: 'error',
      message: rowProblem
        ? `${job.table.name}: a value in chunk ${job.chunk.index} cannot be converted (${(err as Error).message})`
        : (err as Error).message,
      rowProblem,
    } satisfies SourceMessage);
  } finally {
    db?.close();
  }
}

/** A pooled thread: runs the encode jobs it is sent, one at a time, until it is terminated. */
function servePool(): void {
  parentPort?.on('message', (message: unknown) => {
    if (typeof message === 'object' && message !== null && (message as PoolMessage).type === 'job')
      void runEncode((message as PoolMessage).job);
  });
}

if (!isMainThread && parentPort) {
  const data = workerData as SourceJob | { op: 'pool' };
  if (data.op === 'pool') servePool();
  else void main(data);
}
