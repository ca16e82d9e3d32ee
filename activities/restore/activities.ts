/**
 * The restore activities: locate a backup (an exact id or a target's newest verified one, locally or in S3),
 * check the target without touching it (right engine, not the source by accident, database there or allowed
 * to be created, empty or `clean` asked for), fetch the files (an S3 download checked against the manifest's
 * SHA-256, or a local copy re-hashed), apply them per engine, and compare the restored row or key counts with
 * the manifest's. Passwords and table data stay on the worker: the workflow sees summaries and counts.
 *
 * Retries are safe: an attempt after the first restores with clean semantics (pg_restore `--clean
 * --if-exists`, mysqldump's own DROP TABLE IF EXISTS, Redis RESTORE … REPLACE), so a half-done attempt is
 * redone rather than refused; a SQLite file is replaced by rename, so it is either untouched or whole.
 * Downloaded files live under `<artifactDir>/restores/<workflowId>/`, which all workers of a task queue must
 * share, like the backup folders.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { activityInfo, cancellationSignal, heartbeat } from '@temporalio/activity';
import Database from 'better-sqlite3';
import type { Redis } from 'ioredis';
import {
  type BackupFile,
  type BackupManifest,
  backupTargetName,
  MANIFEST_FILE,
  parseBackupId,
  type VerificationOutcome,
} from '../../common/contracts/backup';
import type { Engine } from '../../common/connection-ref';
import { DbopsError, ErrorCode } from '../../common/errors';
import type { DbopsConfig } from '../../config/load';
import {
  type ListedBackup,
  listLocal,
  listS3,
  localBackupDir,
  readLocalManifest,
  readS3Manifest,
  s3Key,
  writeJsonAtomic,
} from '../backup/store';
import { sourceAddress } from '../backup/dump';
import type { ConnectionRegistry } from '../connections/registry';
import { resolveTarget, type ResolvedTarget } from '../connections/resolve';
import type { ActivityDeps } from '../deps';
import { withFailureMapping } from '../failures';
import { keepAlive } from '../keep-alive';
import { runArtifactDir } from '../files/artifact-paths';
import { sha256File } from '../files/sha256';
import { createMysqlDatabase, mysqlDatabaseState, mysqlRowCounts, restoreMysql } from '../mysql/restore';
import {
  createDatabase,
  databaseOf,
  databaseRowCounts,
  databaseState,
  type PgEndpoint,
  restoreCustomDump,
  restorePlainDump,
  withDatabase,
} from '../postgres/restore';
import { keyCountsOf, withScratchRedis } from '../redis/scratch-server';
import { createS3Client } from '../s3/client';
import { downloadFile } from '../s3/transfer';
import { tableRowCounts } from '../sqlite/file-thread';

/** What the workflow learns of a located backup: no row counts, no secrets. */
export interface LocatedBackup {
  backupId: string;
  engine: Engine;
  from: 'local' | 's3';
  /** `engine://host:port/database` (or the SQLite path) the backup was taken from. */
  sourceAddress?: string;
  sourceLabel: string;
  files: BackupFile[];
  verification: VerificationOutcome;
}

/** What the target looks like before a restore. */
export interface TargetState {
  /** The database (or SQLite file) exists; always true for Redis. */
  exists: boolean;
  /** Tables, views and sequences (PostgreSQL), tables and views (MySQL, SQLite), keys (Redis). */
  objects: number;
}

/** One table (or Redis database) after a restore. */
export interface RestoredCount {
  name: string;
  expected: number;
  actual: number;
}

/** The flags of a restore that decide whether it may go ahead. */
interface RestoreFlags {
  clean?: boolean;
  createDatabase?: boolean;
  overwriteSource?: boolean;
}

const TARGET_FOLDER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ID_FORMS =
  'expected <target>/<YYYYMMDDTHHMMSSZ> (e.g. local_pg/20261130T030000Z) or <target>:latest (the newest verified backup of that target)';
/** Keys per SCAN batch copied from the scratch Redis to the target (one pipeline each way). */
const REDIS_BATCH = 200;
/** Database comment that marks a PostgreSQL database created by this restore run. */
const createdMarker = (workflowId: string): string => `created by dbops restore ${workflowId}`;

/** Builds the restore activities around the worker's shared dependencies. */
export function createRestoreActivities({ config, connections }: ActivityDeps) {
  let s3client: ReturnType<typeof createS3Client> | undefined;
  const s3 = () => (s3client ??= createS3Client(config.s3));
  const workflowId = () => activityInfo().workflowExecution?.workflowId ?? 'unknown-workflow';
  const downloadDir = () => runArtifactDir(config.artifactDir, 'restores', workflowId());

  /** The manifest beside the files a fetch left in `dir` (the backup's own folder, or the download folder). */
  const manifestIn = async (dir: string, backupId: string): Promise<BackupManifest> => {
    const allowed = [resolve(localBackupDir(config, backupId)), resolve(downloadDir())];
    if (!allowed.includes(resolve(dir)))
      throw new DbopsError(ErrorCode.BadInput, `${dir} is not where the files of ${backupId} were fetched to`);
    const path = join(dir, MANIFEST_FILE);
    if (!existsSync(path))
      throw new DbopsError(
        ErrorCode.BadInput,
        `the files of ${backupId} are not in ${dir} on this worker's host: the workers of one task queue must share the artifact folder (DBOPS_ARTIFACT_DIR)`,
      );
    const manifest = JSON.parse(await readFile(path, 'utf8')) as BackupManifest;
    if (manifest.backupId !== backupId)
      throw new DbopsError(ErrorCode.BadInput, `${path} describes ${manifest.backupId}, not ${backupId}`);
    return manifest;
  };

  return {
    /**
     * Finds a backup: `<target>/<timestamp>` exactly, or `<target>:latest`, the newest one whose verification
     * passed. Local copies first (unless `from` is `s3`), then S3 (unless `from` is `local`).
     */
    async restoreLocate(input: { backup: string; from?: 'local' | 's3' }): Promise<LocatedBackup> {
      return withFailureMapping(`restoreLocate ${input.backup}`, async () => {
        const wanted = input.backup.trim();
        const latest = /^(.+):latest$/.exec(wanted);
        if (latest) return summary(await locateLatest(config, s3, latest[1] ?? '', input.from));
        const parsed = parseBackupId(wanted);
        if (!parsed) throw new DbopsError(ErrorCode.BadInput, `"${wanted}" is not a backup id: ${ID_FORMS}`);
        if (input.from !== 's3') {
          const local = await readLocalManifest(config, wanted);
          if (local?.backupId === wanted) return summary({ manifest: local, location: 'local' });
        }
        let s3Problem = '';
        if (input.from !== 'local') {
          try {
            const remote = await readS3Manifest(s3(), config, wanted);
            if (remote?.backupId === wanted) return summary({ manifest: remote, location: 's3' });
          } catch (err) {
            // Asked for S3 explicitly: its error is the answer. Otherwise the backup is simply not found.
            if (input.from === 's3') throw err;
            s3Problem = ` (S3 could not be read: ${(err as Error).message})`;
          }
        }
        const known = await describeBackups(config, s3, [parsed.target], input.from);
        throw new DbopsError(
          ErrorCode.BadInput,
          `backup ${wanted} was not found ${where(config, input.from)}${s3Problem}; ${known}`,
        );
      });
    },

    /**
     * Checks the target and touches nothing: the engine matches the backup's, it is not the database the
     * backup was taken from (unless `overwriteSource`), the database exists (or `createDatabase`), and it is
     * empty (or `clean`). Throws RestoreRefused naming the option that would allow it.
     */
    async restorePrepare(
      input: {
        backupId: string;
        engine: Engine;
        sourceAddress?: string;
        target: string;
        /** Kinds of the backup's files: a PostgreSQL `clean` needs a custom-format dump. */
        kinds?: BackupFile['kind'][];
      } & RestoreFlags,
    ): Promise<TargetState> {
      return withFailureMapping(`restorePrepare ${input.target}`, async () => {
        const target = resolveTarget(input.target, config);
        await checkTargetIdentity(target, input.backupId, input.engine, input.sourceAddress, input.overwriteSource);
        const state = await inspectTarget(target, connections);
        refuseUnsafe(target, input.backupId, state, input, input.kinds);
        return { exists: state.exists, objects: state.objects };
      });
    },

    /**
     * Makes the backup's files readable on this worker: an S3 copy is downloaded into the run's folder (each
     * file checked against the manifest's SHA-256: a mismatch is ChecksumMismatch, retried); a local copy is
     * re-hashed where it is (a mismatch is BackupCorrupt: the copy is damaged, nothing was touched).
     */
    async restoreFetch(input: { backupId: string; from: 'local' | 's3' }): Promise<{ dir: string }> {
      return withFailureMapping(`restoreFetch ${input.backupId}`, async () => {
        let current = { file: '', done: 0 };
        return keepAlive(
          () => ({ step: 'fetch', ...current }),
          async () => {
            if (input.from === 'local') {
              const manifest = await readLocalManifest(config, input.backupId);
              if (!manifest) throw gone(input.backupId, 'locally');
              const dir = localBackupDir(config, input.backupId);
              for (const file of manifest.files) {
                current = { file: file.name, done: current.done };
                const path = join(dir, safeName(file.name));
                if (!existsSync(path))
                  throw new DbopsError(
                    ErrorCode.BackupCorrupt,
                    `the local copy of ${input.backupId} is damaged: ${file.name} is missing from ${dir}; restore from S3 (from: 's3') if it was uploaded`,
                  );
                const sha = await sha256File(path);
                if (sha !== file.sha256)
                  throw new DbopsError(
                    ErrorCode.BackupCorrupt,
                    `the local copy of ${input.backupId} is damaged: ${file.name} hashes to ${sha}, the manifest says ${file.sha256}; nothing was restored — restore from S3 (from: 's3') if it was uploaded`,
                  );
                current = { file: file.name, done: current.done + 1 };
              }
              return { dir };
            }
            const manifest = await readS3Manifest(s3(), config, input.backupId);
            if (!manifest) throw gone(input.backupId, `in s3://${config.s3.bucket}`);
            const dir = downloadDir();
            await mkdir(dir, { recursive: true });
            for (const file of manifest.files) {
              current = { file: file.name, done: current.done };
              const path = join(dir, safeName(file.name));
              // A retried fetch keeps what an earlier attempt already downloaded whole.
              if (existsSync(path) && (await sha256File(path)) === file.sha256) {
                current = { file: file.name, done: current.done + 1 };
                continue;
              }
              const key = s3Key(config, input.backupId, file.name);
              await downloadFile(s3(), config.s3.bucket, key, path, file.sha256).catch((err: unknown) => {
                if ((err as { name?: string }).name === 'NoSuchKey')
                  throw new DbopsError(
                    ErrorCode.BackupCorrupt,
                    `s3://${config.s3.bucket}/${key} is missing although the manifest of ${input.backupId} lists it: the S3 copy is incomplete`,
                  );
                throw err;
              });
              current = { file: file.name, done: current.done + 1 };
            }
            await writeJsonAtomic(join(dir, MANIFEST_FILE), manifest);
            return { dir };
          },
        );
      });
    },

    /**
     * Restores the fetched files into the target, creating the database when asked and missing. Re-checks the
     * target on the first attempt (it may have changed since prepare); later attempts redo the restore with
     * clean semantics. PostgreSQL: pg_restore of the custom dump, else psql of the plain (or schema) dump;
     * MySQL: the client replays the dump; Redis: the RDB is loaded into a scratch server and every key copied
     * with DUMP/RESTORE … REPLACE keeping its TTL; SQLite: the file replaces the target by rename.
     */
    async restoreApply(
      input: {
        backupId: string;
        dir: string;
        target: string;
        engine: Engine;
        jobs?: number;
      } & RestoreFlags,
    ): Promise<{ createdDatabase: boolean }> {
      return withFailureMapping(`restoreApply ${input.backupId} into ${input.target}`, async () => {
        const manifest = await manifestIn(input.dir, input.backupId);
        const target = resolveTarget(input.target, config);
        const address = manifest.source.address;
        await checkTargetIdentity(target, input.backupId, manifest.engine, address, input.overwriteSource);
        // An earlier attempt that began writing left a heartbeat saying so: this attempt finds that attempt's
        // partial restore and redoes it with clean semantics. Any other retry (the first attempt failed before
        // touching anything) checks the target afresh, so a target that filled up meanwhile is still refused.
        const earlier = activityInfo().heartbeatDetails as { touched?: boolean } | undefined;
        const first = earlier?.touched !== true;
        const state = await inspectTarget(target, connections);
        refuseUnsafe(
          target,
          input.backupId,
          state,
          { ...input, clean: input.clean || !first },
          manifest.files.map((f) => f.kind),
        );
        const signal = cancellationSignal();
        heartbeat({ step: 'restore', touched: true });
        let progress: Record<string, unknown> = { step: 'restore', touched: true };
        return keepAlive(
          () => progress,
          async () => {
            switch (manifest.engine) {
              case 'postgres':
                return applyPostgres(target, manifest, input, !first, workflowId(), signal);
              case 'mysql':
                return applyMysql(target, manifest, input, state, signal);
              case 'redis':
                await applyRedis(target, connections, join(input.dir, safeName(rdbFile(manifest).name)), {
                  clean: input.clean === true,
                  signal,
                  progress: (p) => (progress = { step: 'restore', touched: true, ...p }),
                });
                return { createdDatabase: false };
              case 'sqlite':
                return applySqlite(target, manifest, input, signal);
            }
          },
        );
      });
    },

    /**
     * Counts the rows of every table of the backup (keys per database for Redis) in the restored target and
     * compares them with the manifest; any difference is BackupCorrupt listing the first ten. Tables the
     * target holds besides the backup's (a `clean` restore keeps them) are not compared.
     */
    async restoreCheck(input: {
      backupId: string;
      dir: string;
      target: string;
      engine: Engine;
    }): Promise<{ counts: RestoredCount[] }> {
      return withFailureMapping(`restoreCheck ${input.backupId} in ${input.target}`, async () => {
        const manifest = await manifestIn(input.dir, input.backupId);
        const target = resolveTarget(input.target, config);
        const signal = cancellationSignal();
        const counts = await keepAlive(
          () => ({ step: 'check' }),
          () => compareCounts(target, connections, manifest, signal),
        );
        return { counts };
      });
    },

    /** Removes this run's download folder (never a backup folder); safe to call when there is none. */
    async restoreCleanup(_input: Record<string, never> = {}): Promise<{ removed: boolean }> {
      return withFailureMapping('restoreCleanup', async () => {
        const dir = downloadDir();
        const existed = existsSync(dir);
        await rm(dir, { recursive: true, force: true });
        return { removed: existed };
      });
    },
  };
}

function summary({ manifest, location }: ListedBackup): LocatedBackup {
  return {
    backupId: manifest.backupId,
    engine: manifest.engine,
    from: location,
    ...(manifest.source.address ? { sourceAddress: manifest.source.address } : {}),
    sourceLabel: manifest.source.label,
    files: manifest.files,
    verification: manifest.verification,
  };
}

function where(config: DbopsConfig, from: 'local' | 's3' | undefined): string {
  const local = `locally (${join(config.artifactDir, config.backup.prefix)})`;
  const remote = `in s3://${config.s3.bucket}/${config.backup.prefix}/`;
  return from === 'local' ? local : from === 's3' ? remote : `${local} or ${remote}`;
}

/** The folder names a `<ref>:latest` may mean: the ref itself when it is one, and its derived name. */
function targetFolders(ref: string): string[] {
  const names = TARGET_FOLDER.test(ref) ? [ref] : [];
  const derived = backupTargetName(ref);
  return names.includes(derived) ? names : [...names, derived];
}

/** Every committed backup of the targets in the allowed locations; S3 errors are returned, not thrown. */
async function listBackups(
  config: DbopsConfig,
  s3: () => ReturnType<typeof createS3Client>,
  targets: string[],
  from: 'local' | 's3' | undefined,
): Promise<{ backups: ListedBackup[]; s3Error?: unknown }> {
  const backups: ListedBackup[] = [];
  let s3Error: unknown;
  for (const target of targets) {
    if (from !== 's3') backups.push(...(await listLocal(config, target)).backups);
    if (from !== 'local' && s3Error === undefined) {
      try {
        backups.push(...(await listS3(s3(), config, target)).backups);
      } catch (err) {
        s3Error = err;
      }
    }
  }
  return { backups, ...(s3Error !== undefined ? { s3Error } : {}) };
}

/** The newest verified backup of a target; a local copy is preferred when the same backup is in both. */
async function locateLatest(
  config: DbopsConfig,
  s3: () => ReturnType<typeof createS3Client>,
  ref: string,
  from: 'local' | 's3' | undefined,
): Promise<ListedBackup> {
  if (ref.trim() === '') throw new DbopsError(ErrorCode.BadInput, `":latest" names no target: ${ID_FORMS}`);
  const folders = targetFolders(ref.trim());
  const { backups, s3Error } = await listBackups(config, s3, folders, from);
  const passed = backups
    .filter((b) => b.manifest.verification?.status === 'passed')
    .sort(
      (a, b) =>
        b.manifest.backupId.split('/')[1]!.localeCompare(a.manifest.backupId.split('/')[1]!) ||
        (a.location === 'local' ? -1 : 1),
    );
  const best = passed[0];
  if (best) return best;
  // Nothing verified locally and S3 could not be read: that is the error to report.
  if (s3Error !== undefined) throw s3Error;
  throw new DbopsError(
    ErrorCode.BadInput,
    `no backup of "${ref}" passed verification ${where(config, from)}; ${listingSentence(folders, backups)}`,
  );
}

/** "backups of X: a (passed, local+s3), b (failed, local)" or "there are no backups of X". */
async function describeBackups(
  config: DbopsConfig,
  s3: () => ReturnType<typeof createS3Client>,
  targets: string[],
  from: 'local' | 's3' | undefined,
): Promise<string> {
  const { backups } = await listBackups(config, s3, targets, from);
  return listingSentence(targets, backups);
}

function listingSentence(targets: string[], backups: ListedBackup[]): string {
  const names = targets.map((t) => `"${t}"`).join(' or ');
  if (backups.length === 0) return `there are no backups of ${names} there`;
  const byId = new Map<string, { status: string; locations: string[] }>();
  for (const { manifest, location } of backups) {
    const entry = byId.get(manifest.backupId) ?? { status: manifest.verification?.status ?? 'pending', locations: [] };
    entry.locations.push(location);
    byId.set(manifest.backupId, entry);
  }
  const ids = [...byId.keys()].sort().reverse();
  const shown = ids
    .slice(0, 10)
    .map((id) => `${id} (${byId.get(id)?.status}, ${byId.get(id)?.locations.join('+')})`)
    .join(', ');
  return `backups of ${names}: ${shown}${ids.length > 10 ? ` and ${ids.length - 10} older` : ''}`;
}

function gone(backupId: string, place: string): DbopsError {
  return new DbopsError(
    ErrorCode.BadInput,
    `backup ${backupId} is no longer ${place} (deleted by retention since it was located?): nothing was restored`,
  );
}

/** A manifest's file name used as a path: a plain name, never a path out of the folder. */
function safeName(name: string): string {
  if (name !== basename(name) || name === '..' || name === '.' || name === '')
    throw new DbopsError(ErrorCode.BackupCorrupt, `the manifest lists a file "${name}" that is not a plain file name`);
  return name;
}

function rdbFile(manifest: BackupManifest): BackupFile {
  const file = manifest.files.find((f) => f.kind === 'rdb');
  if (!file) throw new DbopsError(ErrorCode.BackupCorrupt, `${manifest.backupId} lists no RDB file`);
  return file;
}

function pgEndpoint(target: ResolvedTarget, database?: string): PgEndpoint {
  const url = target.url ?? '';
  return {
    url: database === undefined ? url : withDatabase(url, database),
    password: target.password,
    label: database === undefined ? target.label : `${target.label} (database ${database})`,
  };
}

function mysqlDatabaseOf(target: ResolvedTarget): string {
  const database = decodeURIComponent(new URL(target.url ?? '').pathname.replace(/^\//, ''));
  if (database === '')
    throw new DbopsError(
      ErrorCode.BadInput,
      `${target.label} names no database: give the database to restore into in the URL (mysql://host:port/<database>)`,
    );
  return database;
}

/** The address a restore compares: for Redis the server only (a snapshot holds every database). */
function comparableAddress(engine: Engine, address: string): string {
  return engine === 'redis' ? address.replace(/\/[^/]*$/, '') : address;
}

/** Refuses a target of another engine, and the backup's own source unless `overwriteSource`. */
async function checkTargetIdentity(
  target: ResolvedTarget,
  backupId: string,
  engine: Engine,
  source: string | undefined,
  overwriteSource: boolean | undefined,
): Promise<void> {
  if (target.engine !== engine)
    throw new DbopsError(
      ErrorCode.BadInput,
      `${backupId} is a ${engine} backup and ${target.label} is a ${target.engine} target: restore it into a ${engine} database`,
    );
  const address = sourceAddress(target);
  if (!address || !source || overwriteSource) return;
  let same = comparableAddress(engine, address) === comparableAddress(engine, source);
  if (!same && engine === 'sqlite' && existsSync(address) && existsSync(source)) {
    same = (await realpath(address)) === (await realpath(source));
  }
  if (same)
    throw new DbopsError(
      ErrorCode.RestoreRefused,
      `${target.label} is the database this backup was taken from (${source}): pass overwriteSource: true (CLI --overwrite-source) if you mean it; nothing was touched`,
    );
}

/** Whether the target's database exists and how much it holds; reads only. */
async function inspectTarget(target: ResolvedTarget, connections: ConnectionRegistry): Promise<TargetState> {
  switch (target.engine) {
    case 'postgres': {
      const database = databaseOf(target.url ?? '');
      // The maintenance database answers whether the target database exists without connecting to it.
      const state = await databaseState(pgEndpoint(target, 'postgres'), database);
      return { exists: state.exists, objects: state.tables };
    }
    case 'mysql': {
      const state = await mysqlDatabaseState(
        { url: target.url ?? '', password: target.password },
        mysqlDatabaseOf(target),
      );
      return { exists: state.exists, objects: state.tables };
    }
    case 'redis': {
      const counts = await keyCountsOf(connections.redis(target));
      return { exists: true, objects: Object.values(counts).reduce((sum, n) => sum + n, 0) };
    }
    case 'sqlite': {
      const path = target.path ?? '';
      if (!existsSync(path)) return { exists: false, objects: 0 };
      return { exists: true, objects: sqliteObjects(path) };
    }
  }
}

/** Tables and views of a SQLite file (a file that is not a database counts as one object: it would be lost). */
function sqliteObjects(path: string): number {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    return Number(
      db
        .prepare(
          `SELECT count(*) FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'`,
        )
        .pluck()
        .get(),
    );
  } catch {
    return 1;
  } finally {
    db?.close();
  }
}

/** RestoreRefused when the database is missing without `createDatabase`, or not empty without `clean`. */
function refuseUnsafe(
  target: ResolvedTarget,
  backupId: string,
  state: TargetState,
  flags: RestoreFlags,
  kinds: BackupFile['kind'][] | undefined,
): void {
  const untouched = 'nothing was touched';
  if (!state.exists && !flags.createDatabase) {
    const what =
      target.engine === 'sqlite'
        ? `${target.path} does not exist`
        : `database "${target.engine === 'mysql' ? mysqlDatabaseOf(target) : databaseOf(target.url ?? '')}" does not exist on ${target.label}`;
    throw new DbopsError(
      ErrorCode.RestoreRefused,
      `${what}: pass createDatabase: true (CLI --create-database) to create it; ${untouched}`,
    );
  }
  if (state.objects === 0) return;
  if (!flags.clean) {
    const holds = {
      postgres: `${state.objects} table(s), view(s) or sequence(s)`,
      mysql: `${state.objects} table(s) or view(s)`,
      redis: `${state.objects} key(s)`,
      sqlite: `${state.objects} table(s) or view(s)`,
    }[target.engine];
    const effect = {
      postgres: 'drop and recreate the objects the backup holds (others are kept)',
      mysql: 'drop and recreate the tables the backup holds (others are kept)',
      redis: 'empty it first: a Redis backup replaces the whole dataset',
      sqlite: 'replace the file',
    }[target.engine];
    throw new DbopsError(
      ErrorCode.RestoreRefused,
      `${target.label} is not empty (${holds}): pass clean: true (CLI --clean) to ${effect} — ${backupId} would overwrite them; ${untouched}`,
    );
  }
  if (target.engine === 'postgres' && kinds && !kinds.includes('custom'))
    throw new DbopsError(
      ErrorCode.RestoreRefused,
      `${target.label} is not empty and ${backupId} holds no custom-format dump: a plain SQL dump cannot drop what it replaces, so clean is not possible — restore into a new database (createDatabase: true) or an empty one; ${untouched}`,
    );
}

/** pg_restore/psql failures other than a lost connection are not worth retrying: say what is left. */
function restoreToolFailure(err: unknown, target: ResolvedTarget): unknown {
  if (err instanceof DbopsError || !(err instanceof Error) || err.name === 'AbortError') return err;
  if (
    /could not connect|connection to server|server closed the connection|terminating connection|timeout|ECONN/i.test(
      err.message,
    )
  )
    return err;
  return new DbopsError(
    ErrorCode.BackupFailed,
    `${err.message.slice(0, 2000)} — ${target.label} may be partly restored: fix the cause and restore again with clean: true, or drop it`,
    { cause: err, retryable: false },
  );
}

async function applyPostgres(
  target: ResolvedTarget,
  manifest: BackupManifest,
  input: { dir: string; clean?: boolean; createDatabase?: boolean; jobs?: number },
  retry: boolean,
  workflowId: string,
  signal: AbortSignal,
): Promise<{ createdDatabase: boolean }> {
  const database = databaseOf(target.url ?? '');
  const admin = pgEndpoint(target, 'postgres');
  const marker = createdMarker(workflowId);
  const before = await databaseState(admin, database);
  let createdDatabase = before.exists && before.comment === marker;
  if (!before.exists) {
    await createDatabase(admin, database, marker);
    createdDatabase = true;
  }
  const endpoint = pgEndpoint(target, database);
  const custom = manifest.files.find((f) => f.kind === 'custom');
  const plain = manifest.files.find((f) => f.kind === 'plain') ?? manifest.files.find((f) => f.kind === 'schema');
  try {
    if (custom) {
      await restoreCustomDump(endpoint, join(input.dir, safeName(custom.name)), {
        jobs: input.jobs ?? 2,
        clean: input.clean === true || retry,
        signal,
      });
    } else if (plain) {
      // One transaction: a failed attempt leaves nothing behind for the next one.
      await restorePlainDump(endpoint, join(input.dir, safeName(plain.name)), plain.compression === 'gzip', signal);
    } else {
      throw new DbopsError(
        ErrorCode.BadInput,
        `${manifest.backupId} holds no database dump (only ${manifest.files.map((f) => f.name).join(', ')})`,
      );
    }
  } catch (err) {
    throw restoreToolFailure(err, target);
  }
  return { createdDatabase };
}

async function applyMysql(
  target: ResolvedTarget,
  manifest: BackupManifest,
  input: { dir: string; createDatabase?: boolean },
  state: TargetState,
  signal: AbortSignal,
): Promise<{ createdDatabase: boolean }> {
  const server = { url: target.url ?? '', password: target.password };
  const file = manifest.files.find((f) => f.kind === 'mysql');
  if (!file) throw new DbopsError(ErrorCode.BackupCorrupt, `${manifest.backupId} lists no MySQL dump file`);
  let createdDatabase = false;
  if (!state.exists) {
    await createMysqlDatabase(server, mysqlDatabaseOf(target));
    createdDatabase = true;
  }
  // The dump drops each table before creating it, so a retry simply redoes it.
  await restoreMysql(server, join(input.dir, safeName(file.name)), { signal });
  return { createdDatabase };
}

/**
 * Loads the RDB into a scratch server (an RDB cannot be sent to a running server) and copies every key of
 * every database to the target: DUMP as bytes, PTTL, then RESTORE key ttl payload REPLACE, a SCAN batch at
 * a time through pipelines. With `clean` the target's databases are emptied first — only after the RDB
 * loaded, so a damaged snapshot never costs the target its data.
 */
async function applyRedis(
  target: ResolvedTarget,
  connections: ConnectionRegistry,
  rdbPath: string,
  options: { clean: boolean; signal: AbortSignal; progress: (p: Record<string, unknown>) => void },
): Promise<void> {
  const base = connections.redis(target);
  const clients = new Map<number, Redis>();
  const clientFor = (db: number): Redis => {
    let client = clients.get(db);
    if (!client) {
      client = base.duplicate({ db, connectionName: 'dbops-restore' });
      client.on('error', () => undefined); // failures surface through the command that hit them
      clients.set(db, client);
    }
    return client;
  };
  try {
    await withScratchRedis(
      rdbPath,
      async (scratch, keyCounts) => {
        if (options.clean) {
          for (const name of Object.keys(await keyCountsOf(base))) await clientFor(dbIndex(name)).flushdb();
        }
        let copied = 0;
        for (const name of Object.keys(keyCounts).sort((a, b) => dbIndex(a) - dbIndex(b))) {
          const db = dbIndex(name);
          await scratch.select(db);
          const dest = clientFor(db);
          let cursor = '0';
          do {
            options.signal.throwIfAborted();
            const [next, keys] = await scratch.scanBuffer(cursor, 'COUNT', REDIS_BATCH);
            cursor = next.toString();
            if (keys.length === 0) continue;
            const read = scratch.pipeline();
            for (const key of keys) read.pttl(key).dumpBuffer(key);
            const replies = (await read.exec()) ?? [];
            const write = dest.pipeline();
            let writes = 0;
            keys.forEach((key, i) => {
              const [ttlErr, ttl] = replies[2 * i] ?? [];
              const [dumpErr, payload] = replies[2 * i + 1] ?? [];
              if (ttlErr) throw ttlErr;
              if (dumpErr) throw dumpErr;
              // -2: gone since the scan (expired); -1: no TTL.
              if (ttl === -2 || payload === null || payload === undefined) return;
              write.restore(key, Math.max(0, Number(ttl)), payload as Buffer, 'REPLACE');
              writes += 1;
            });
            if (writes > 0) {
              for (const [err] of (await write.exec()) ?? []) {
                if (err) throw redisRestoreFailure(err, target);
              }
            }
            copied += writes;
            options.progress({ db: name, keys: copied });
          } while (cursor !== '0');
        }
      },
      { signal: options.signal },
    );
  } finally {
    for (const client of clients.values()) client.disconnect();
  }
}

function dbIndex(name: string): number {
  return Number(name.replace(/^db/, ''));
}

function redisRestoreFailure(err: Error, target: ResolvedTarget): Error {
  if (/payload version|checksum/i.test(err.message))
    return new DbopsError(
      ErrorCode.ToolMissing,
      `${target.label} refuses the keys dumped by the worker's redis-server (${err.message}): its Redis is older than the worker's redis-server; install a redis-server no newer than the target on the worker's host`,
      { cause: err },
    );
  return err;
}

async function applySqlite(
  target: ResolvedTarget,
  manifest: BackupManifest,
  input: { dir: string; clean?: boolean; createDatabase?: boolean },
  signal: AbortSignal,
): Promise<{ createdDatabase: boolean }> {
  const dest = target.path ?? '';
  const file = manifest.files.find((f) => f.kind === 'sqlite');
  if (!file) throw new DbopsError(ErrorCode.BackupCorrupt, `${manifest.backupId} lists no SQLite file`);
  const existed = existsSync(dest);
  // An earlier attempt that renamed the copy into place and then lost its worker is already done.
  if (existed && (await sha256File(dest)) === file.sha256) return { createdDatabase: false };
  if (!existed) await mkdir(dirname(dest), { recursive: true });
  const temp = `${dest}.dbops-restore-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await copyFile(join(input.dir, safeName(file.name)), temp);
    signal.throwIfAborted();
    const sha = await sha256File(temp);
    if (sha !== file.sha256)
      throw new DbopsError(
        ErrorCode.ChecksumMismatch,
        `the copy of ${file.name} written to ${temp} hashes to ${sha}, the manifest says ${file.sha256}`,
      );
    // A journal or WAL of the file being replaced would be replayed into the restored one.
    for (const suffix of ['-wal', '-shm', '-journal']) await rm(`${dest}${suffix}`, { force: true });
    await rename(temp, dest);
  } finally {
    await rm(temp, { force: true });
  }
  return { createdDatabase: !existed };
}

/** Row (or key) counts of the restored target against the manifest's. */
async function compareCounts(
  target: ResolvedTarget,
  connections: ConnectionRegistry,
  manifest: BackupManifest,
  signal: AbortSignal,
): Promise<RestoredCount[]> {
  if (manifest.engine === 'redis') {
    const expected = manifest.keyCounts ?? {};
    const expiring = manifest.expiringKeys ?? {};
    const actual = await keyCountsOf(connections.redis(target));
    const names = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort(
      (a, b) => dbIndex(a) - dbIndex(b),
    );
    const counts = names.map((name) => ({ name, expected: expected[name] ?? 0, actual: actual[name] ?? 0 }));
    // Keys with a TTL may expire between the snapshot and the restore: fewer is fine up to that many.
    const bad = counts.filter((c) => c.actual > c.expected || c.expected - c.actual > (expiring[c.name] ?? 0));
    if (bad.length > 0) throw mismatch(manifest.backupId, target, bad, 'keys');
    return counts;
  }
  let actual: Record<string, number>;
  switch (manifest.engine) {
    case 'postgres':
      actual = await databaseRowCounts(pgEndpoint(target, databaseOf(target.url ?? '')));
      break;
    case 'mysql':
      actual = await mysqlRowCounts({ url: target.url ?? '', password: target.password }, mysqlDatabaseOf(target));
      break;
    case 'sqlite':
      actual = await tableRowCounts(target.path ?? '', signal);
      break;
  }
  // A schema-only PostgreSQL backup restores its tables empty.
  const rowsRestored =
    manifest.engine !== 'postgres' || manifest.files.some((f) => f.kind === 'custom' || f.kind === 'plain');
  const expected = manifest.rowCounts ?? {};
  const tolerated = new Set(manifest.inconsistentTables ?? []);
  const counts = Object.keys(expected)
    .sort()
    .map((name) => ({ name, expected: rowsRestored ? (expected[name] ?? 0) : 0, actual: actual[name] ?? -1 }));
  const bad = counts.filter((c) => c.actual === -1 || (c.actual !== c.expected && !tolerated.has(c.name)));
  if (bad.length > 0) throw mismatch(manifest.backupId, target, bad, 'rows');
  return counts;
}

function mismatch(backupId: string, target: ResolvedTarget, bad: RestoredCount[], unit: string): DbopsError {
  const list = bad
    .slice(0, 10)
    .map((c) => `${c.name}: backup ${c.expected}, restored ${c.actual === -1 ? 'absent' : c.actual}`)
    .join('; ');
  return new DbopsError(
    ErrorCode.BackupCorrupt,
    `after restoring ${backupId} into ${target.label} the ${unit} differ from the manifest in ${bad.length} place(s): ${list}${bad.length > 10 ? '; …' : ''}`,
  );
}
