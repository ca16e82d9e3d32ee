/**
 * Verification of a committed backup, level by level (each includes the ones before):
 * `checksum` — the local files and the S3 objects, read back in full, hash to the manifest's SHA-256;
 * `read` — a full structural read of each file (`pg_restore -f /dev/null`, a gzip decompression, an RDB
 * parse with its CRC, `PRAGMA integrity_check`);
 * `restore` — the dump restored into a scratch database (a throwaway `redis-server` for Redis) whose row or
 * key counts must equal the manifest's, then dropped.
 * A failure is an outcome, not an exception: the manifest records it and the backup never counts as good.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { BackupManifest, VerificationOutcome, VerifyLevel } from '../../common/contracts/backup';
import { DbopsError, ErrorCode } from '../../common/errors';
import type { DbopsConfig } from '../../config/load';
import type { ResolvedTarget } from '../connections/resolve';
import { checkGzip } from '../files/gzip-check';
import { sha256File } from '../files/sha256';
import {
  createMysqlDatabase,
  dropMysqlDatabase,
  mysqlDatabaseState,
  mysqlRowCounts,
  restoreMysql,
} from '../mysql/restore';
import {
  createDatabase,
  databaseRowCounts,
  databaseState,
  dropDatabase,
  readCheckCustomDump,
  restoreCustomDump,
  restorePlainDump,
  withClient,
  withDatabase,
} from '../postgres/restore';
import { parseRdb } from '../redis/rdb-parse';
import { validateRdb } from '../redis/rdb-file';
import { withScratchRedis } from '../redis/scratch-server';
import { hashObject } from '../s3/transfer';
import { integrityCheck, tableRowCounts } from '../sqlite/file-thread';
import { localBackupDir, s3Key } from './store';

/** Everything a verification needs. */
export interface VerifyContext {
  config: DbopsConfig;
  manifest: BackupManifest;
  /** The server the backup came from (scratch databases are created there). */
  source: ResolvedTarget;
  s3?: S3Client;
  signal?: AbortSignal;
  /** Called between checks, so a long verification keeps heartbeating. */
  progress: (what: string) => void;
}

/** Runs the checks up to `level`; never throws for a bad backup (only for faults worth retrying). */
export async function verifyBackup(context: VerifyContext, level: VerifyLevel): Promise<VerificationOutcome> {
  const details: string[] = [];
  const outcome = (reached: VerificationOutcome['level'], status: 'passed' | 'failed'): VerificationOutcome => ({
    level: reached,
    requested: level,
    status,
    checkedAt: new Date().toISOString(),
    details,
  });
  // A step that returns false could not run here (e.g. a test restore on a standby): its level is not reached.
  const steps: [VerifyLevel, () => Promise<boolean | void>][] = [
    ['checksum', () => verifyChecksums(context, details)],
    ['read', () => verifyRead(context, details)],
    ['restore', () => verifyRestore(context, details)],
  ];
  let reached: VerificationOutcome['level'] = 'none';
  for (const [name, run] of steps) {
    try {
      context.progress(name);
      if ((await run()) === false) break;
      reached = name;
    } catch (err) {
      if (!(err instanceof DbopsError) || err.code !== ErrorCode.BackupCorrupt) throw err;
      details.unshift(`FAILED at ${name}: ${err.message}`);
      return outcome(reached, 'failed');
    }
    if (name === level) break;
  }
  return outcome(reached, 'passed');
}

function corrupt(message: string): DbopsError {
  return new DbopsError(ErrorCode.BackupCorrupt, message);
}

async function verifyChecksums({ config, manifest, s3, progress }: VerifyContext, details: string[]): Promise<void> {
  const dir = localBackupDir(config, manifest.backupId);
  for (const file of manifest.files) {
    progress(`checksum ${file.name}`);
    const local = await sha256File(join(dir, file.name));
    if (local !== file.sha256) throw corrupt(`local ${file.name} hashes to ${local}, the manifest says ${file.sha256}`);
    if (manifest.s3 && s3) {
      const key = s3Key(config, manifest.backupId, file.name);
      const remote = await hashObject(s3, manifest.s3.bucket, key);
      if (remote.sha256 !== file.sha256 || remote.bytes !== file.bytes)
        throw corrupt(
          `s3://${manifest.s3.bucket}/${key} reads back as ${remote.bytes} bytes hashing to ${remote.sha256}, the manifest says ${file.bytes} bytes, ${file.sha256}: the stored object is damaged`,
        );
    }
  }
  details.push(
    `checksum: ${manifest.files.length} file(s) match their SHA-256${manifest.s3 && s3 ? ' locally and in S3' : ' locally'}`,
  );
}

async function verifyRead({ config, manifest, signal, progress }: VerifyContext, details: string[]): Promise<void> {
  const dir = localBackupDir(config, manifest.backupId);
  for (const file of manifest.files) {
    const path = join(dir, file.name);
    progress(`read ${file.name}`);
    if (file.compression === 'pg-custom') await readCheckCustomDump(path, signal);
    else if (file.compression === 'gzip') await checkGzip(path, signal);
    else if (file.kind === 'rdb') {
      await validateRdb(path);
      const parsed = await parseRdb(path, { signal });
      if (!sameCounts(parsed.keyCounts, manifest.keyCounts ?? {}))
        throw corrupt(
          `${file.name} now parses to ${JSON.stringify(parsed.keyCounts)} keys, the manifest says ${JSON.stringify(manifest.keyCounts)}`,
        );
    } else if (file.kind === 'sqlite') {
      const result = await integrityCheck(path, signal);
      if (result !== 'ok') throw corrupt(`${file.name} fails PRAGMA integrity_check: ${result}`);
    }
  }
  details.push(`read: every file read back in full (${manifest.files.map((f) => f.name).join(', ')})`);
}

async function verifyRestore(context: VerifyContext, details: string[]): Promise<boolean> {
  const { config, manifest, source, signal } = context;
  const dir = localBackupDir(config, manifest.backupId);
  const expected = manifest.rowCounts ?? manifest.keyCounts ?? {};
  let actual: Record<string, number>;
  let where: string;
  switch (manifest.engine) {
    case 'postgres': {
      const custom = manifest.files.find((f) => f.kind === 'custom');
      const plain = manifest.files.find((f) => f.kind === 'plain');
      if (!custom && !plain) {
        details.push('restore: skipped (a schema-only backup holds no rows to compare)');
        return true;
      }
      const admin = { url: source.url ?? '', password: source.password, label: source.label };
      if (await inRecovery(admin)) {
        details.push(
          `restore: not run — ${source.label} is a standby (read-only), where no scratch database can be created`,
        );
        return false;
      }
      const name = scratchName(manifest.backupId);
      const marker = `dbops scratch for ${manifest.backupId}`;
      const state = await databaseState(admin, name);
      if (state.exists && state.comment !== marker)
        throw new DbopsError(
          ErrorCode.ScratchExists,
          `the scratch database "${name}" that verification of ${manifest.backupId} would use already exists on ${source.label} and is not dbops': drop or rename it`,
        );
      await dropDatabase(admin, name);
      await createDatabase(admin, name, marker);
      const scratch = { ...admin, url: withDatabase(admin.url, name), label: `${source.label} scratch ${name}` };
      try {
        context.progress('restore into scratch');
        try {
          if (custom) await restoreCustomDump(scratch, join(dir, custom.name), { jobs: 2, noOwner: true, signal });
          else if (plain) await restorePlainDump(scratch, join(dir, plain.name), true, signal);
        } catch (err) {
          if (err instanceof DbopsError) throw err;
          throw corrupt(`restoring into the scratch database ${name} failed: ${(err as Error).message}`);
        }
        actual = await databaseRowCounts(scratch);
      } finally {
        await dropDatabase(admin, name);
      }
      where = `scratch database ${name} (dropped)`;
      break;
    }
    case 'mysql': {
      const server = { url: source.url ?? '', password: source.password };
      const name = scratchName(manifest.backupId);
      const state = await mysqlDatabaseState(server, name);
      if (state.exists && state.tables > 0)
        throw new DbopsError(
          ErrorCode.ScratchExists,
          `the scratch database "${name}" that verification of ${manifest.backupId} would use already exists on ${source.label} with ${state.tables} table(s): drop or rename it`,
        );
      await dropMysqlDatabase(server, name);
      await createMysqlDatabase(server, name);
      const scratchUrl = new URL(server.url);
      scratchUrl.pathname = `/${name}`;
      try {
        context.progress('restore into scratch');
        try {
          await restoreMysql({ ...server, url: scratchUrl.toString() }, join(dir, 'dump.sql.gz'), { signal });
        } catch (err) {
          if (err instanceof DbopsError) throw err;
          throw corrupt(`restoring into the scratch database ${name} failed: ${(err as Error).message}`);
        }
        actual = await mysqlRowCounts(server, name);
      } finally {
        await dropMysqlDatabase(server, name);
      }
      where = `scratch database ${name} (dropped)`;
      break;
    }
    case 'redis': {
      actual = await withScratchRedis(join(dir, 'dump.rdb'), async (_client, keyCounts) => keyCounts, { signal });
      where = 'a scratch redis-server on a unix socket (stopped)';
      const expiring = manifest.expiringKeys ?? {};
      // Keys with a TTL may have expired since the snapshot: fewer keys is fine up to that many.
      const bad = Object.keys({ ...expected, ...actual }).filter((db) => {
        const want = expected[db] ?? 0;
        const got = actual[db] ?? 0;
        return got > want || want - got > (expiring[db] ?? 0);
      });
      if (bad.length > 0)
        throw corrupt(
          `after loading into ${where}: keys per database ${JSON.stringify(actual)}, the manifest says ${JSON.stringify(expected)}`,
        );
      details.push(`restore: loaded into ${where}; keys per database match the manifest (${describe(actual)})`);
      return true;
    }
    case 'sqlite': {
      actual = await tableRowCounts(join(dir, 'database.sqlite'), signal);
      where = 'the copy opened as a database';
      break;
    }
  }
  // Tables whose rows were not counted in the dump's snapshot (MySQL non-InnoDB tables; every table when the
  // counts had to be taken in a snapshot of their own) can only be checked for presence.
  const loose = new Set(
    manifest.rowCountsConsistent === false ? Object.keys(expected) : (manifest.inconsistentTables ?? []),
  );
  const diff = Object.keys({ ...expected, ...actual }).filter((t) =>
    loose.has(t) ? t in expected !== t in actual : (expected[t] ?? -1) !== (actual[t] ?? -1),
  );
  if (diff.length > 0) {
    const lines = diff
      .slice(0, 10)
      .map((t) => `${t}: manifest ${expected[t] ?? 'absent'}, restored ${actual[t] ?? 'absent'}`);
    throw corrupt(`after restoring into ${where} the row counts differ: ${lines.join('; ')}`);
  }
  details.push(
    `restore: restored into ${where}; ${Object.keys(actual).length} table(s) match the manifest's row counts` +
      (loose.size > 0 ? ` (${loose.size} not snapshot-consistent, checked for presence only)` : ''),
  );
  return true;
}

/** True when the PostgreSQL server is a standby (in recovery). */
async function inRecovery(admin: { url: string; password?: string; label: string }): Promise<boolean> {
  const { rows } = await withClient(admin, (c) =>
    c.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby'),
  );
  return rows[0]?.standby === true;
}

/** The scratch database of a backup's verification: one per backup id, recognisable, ≤ 63 bytes. */
export function scratchName(backupId: string): string {
  return `dbops_verify_${createHash('sha256').update(backupId).digest('hex').slice(0, 16)}`;
}

function sameCounts(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => a[k] === b[k]);
}

function describe(counts: Record<string, number>): string {
  return (
    Object.entries(counts)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ') || 'no keys'
  );
}
