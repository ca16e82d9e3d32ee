/**
 * Backup of a SQLite file with both files' SHA-256, in one read of the source where the file alone is the
 * database, with `PRAGMA quick_check` alongside. Never writes the source.
 *
 * - Rollback-journal modes (delete, truncate, persist, memory, off): a read transaction holds SQLite's SHARED
 *   lock for the whole copy, so no writer can commit and the file's bytes cannot change; the file is streamed
 *   once into the copy, every chunk hashed on the way, while a thread runs `quick_check` on the source. The
 *   copy is byte-identical: one SHA-256 is both, and the source's health is the copy's.
 * - WAL mode: the file alone is not the database (committed pages may live in the -wal file, and checkpoints
 *   rewrite the main file while readers read), so the online backup API copies the read transaction's
 *   snapshot; the copy is then read back for its SHA-256 and the source's main file read for its own: three
 *   reads of the data instead of one.
 *
 * The copy is written under a temporary name beside `backupPath` and renamed into place only once complete,
 * flushed and checked: a crash never leaves a half-written file under the final name.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { type FileHandle, open, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { DbopsError, ErrorCode } from '../../common/errors';
import { sha256File } from '../files/sha256';
import { quickCheck } from './file-thread';

/** What a backup produced. */
export interface SqliteBackup {
  sourcePath: string;
  sourceSha256: string;
  backupPath: string;
  backupSha256: string;
  sizeBytes: number;
  integrity: string;
}

/** Read size of the streamed copy: large reads, constant memory whatever the file's size. */
const CHUNK_BYTES = 1024 * 1024;

/** The first 8 bytes of a rollback journal that still holds a transaction (SQLite zeroes them on commit). */
const JOURNAL_MAGIC = Buffer.from([0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7]);

/** SQLite's files beside a database, by suffix. */
const SIDE_FILES = ['-journal', '-wal', '-shm'] as const;

/**
 * Copies the source into `backupPath` and checks the copy is a healthy SQLite database. The read
 * transaction is open (the SHARED lock held) when this function returns its promise: everything up to the
 * first `await` runs synchronously.
 */
export async function backupSqlite(sourcePath: string, backupPath: string): Promise<SqliteBackup> {
  if (!existsSync(sourcePath)) {
    throw new DbopsError(
      ErrorCode.BadInput,
      `source ${sourcePath} does not exist on the worker's host: check the path (the worker resolves it, not the CLI)`,
    );
  }
  mkdirSync(dirname(backupPath), { recursive: true });
  const temp = join(dirname(backupPath), `.${basename(backupPath)}.${randomBytes(6).toString('hex')}.partial`);
  let db: Database.Database | undefined;
  // Our own descriptor of the source. SQLite's locks are POSIX locks, owned by the process: closing ANY
  // descriptor of the file drops them all, so this one is closed only after the read transaction ends.
  let source: FileHandle | undefined;
  const release = async (): Promise<void> => {
    db?.close(); // ends the read transaction
    db = undefined;
    await source?.close();
    source = undefined;
  };
  try {
    db = new Database(sourcePath, { readonly: true, fileMustExist: true });
    db.exec('BEGIN');
    // The first read takes the SHARED lock (rolling back a hot journal first) and keeps it until the end.
    db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get();
    const wal = String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
    let copy: Pick<SqliteBackup, 'sourceSha256' | 'backupSha256' | 'sizeBytes'>;
    let integrity: string;
    if (!wal && !journalInUse(sourcePath)) {
      source = await open(sourcePath, 'r');
      // Under our SHARED lock the file cannot change, so the source is checked on a thread while it is
      // streamed: the copy holds the same bytes, and the two reads overlap instead of following each other.
      const [streamed, checked] = await Promise.all([copyHashed(source, temp), quickCheck(sourcePath)]);
      await release();
      copy = { sourceSha256: streamed.sha256, backupSha256: streamed.sha256, sizeBytes: streamed.bytes };
      integrity = checked;
    } else {
      // Inside the read transaction the backup copies one snapshot and never restarts on a concurrent write.
      await db.backup(temp);
      await release();
      copy = {
        sourceSha256: await sha256File(sourcePath),
        backupSha256: await sha256File(temp),
        sizeBytes: statSync(sourcePath).size,
      };
      // The copy is a consistent snapshot of the source: its health is the source's.
      integrity = await quickCheck(temp); // on a thread: minutes on a multi-GB file
    }
    if (integrity !== 'ok')
      throw new DbopsError(
        ErrorCode.BadInput,
        `source ${sourcePath} is corrupt (PRAGMA quick_check: ${integrity}); restore it from a backup first`,
      );
    // A read-only open of a WAL-mode copy leaves an empty -wal and a -shm behind; nothing in them.
    removeSideFiles(temp);
    // Stale side files under the final name would be applied to the new copy when it is opened.
    removeSideFiles(backupPath);
    await rename(temp, backupPath);
    await syncDir(dirname(backupPath));
    return { sourcePath, backupPath, integrity, ...copy };
  } catch (err) {
    await release().catch(() => undefined);
    rmSync(temp, { force: true });
    removeSideFiles(temp);
    if (err instanceof DbopsError) throw err;
    const code = String((err as { code?: unknown }).code ?? '');
    if (code.startsWith('SQLITE_NOTADB') || code.startsWith('SQLITE_CORRUPT')) {
      throw new DbopsError(
        ErrorCode.BadInput,
        `source ${sourcePath} is not a readable SQLite database (${code}): check the file`,
        { cause: err },
      );
    }
    throw err;
  } finally {
    await release();
  }
}

/**
 * True when a rollback journal beside the source holds a transaction. Under our SHARED lock that can only
 * be a writer's live journal (SQLite rolled back any hot one when the lock was taken) and the file cannot
 * change, but the streamed copy does not rely on it: the online backup API handles every case.
 */
function journalInUse(sourcePath: string): boolean {
  let fd: number;
  try {
    fd = openSync(`${sourcePath}-journal`, 'r');
  } catch {
    return false;
  }
  try {
    const head = Buffer.alloc(JOURNAL_MAGIC.length);
    return readSync(fd, head, 0, head.length, 0) === head.length && head.equals(JOURNAL_MAGIC);
  } finally {
    // Closing a descriptor of the journal drops no lock: SQLite locks the database file, not its journal.
    closeSync(fd);
  }
}

/**
 * Streams `source` once into a new file at `path`, hashing every chunk on its way; flushed to disk (fsync)
 * before it returns. Reads, hashing and writes overlap in the pipeline: a read-hash-write loop is half as fast.
 */
async function copyHashed(source: FileHandle, path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  await pipeline(
    source.createReadStream({ start: 0, highWaterMark: CHUNK_BYTES, autoClose: false }),
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(null, chunk);
      },
    }),
    // `flush`: fsync before close; the pipeline settles once the file is closed.
    createWriteStream(path, { flags: 'wx', highWaterMark: 4 * CHUNK_BYTES, flush: true }),
  );
  const written = statSync(path).size;
  if (written !== bytes) throw new Error(`the copy of the source holds ${written} bytes, ${bytes} were read`);
  return { sha256: hash.digest('hex'), bytes };
}

function removeSideFiles(path: string): void {
  for (const suffix of SIDE_FILES) rmSync(`${path}${suffix}`, { force: true });
}

/** Makes the rename durable; best effort (not every platform can flush a directory). */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // a directory that cannot be flushed: the rename is still atomic
  } finally {
    await handle.close();
  }
}
