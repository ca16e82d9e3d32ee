/**
 * The dump step of a backup, per engine, into the backup's local folder: PostgreSQL (pg_dump formats +
 * globals, counts in the dump's snapshot), MySQL/MariaDB (mariadb-dump, gzip, counts in its snapshot), Redis
 * (an RDB through the replication handshake, keys counted by parsing it) and SQLite (online backup API, then
 * `PRAGMA integrity_check` and counts on the copy). The folder is emptied first, so a retry after a crash
 * starts from nothing; the facts the manifest needs are written to `dump.json` beside the files.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { BackupFile, BackupFormat, BackupManifest } from '../../common/contracts/backup';
import { DbopsError, ErrorCode } from '../../common/errors';
import type { ConnectionRegistry } from '../connections/registry';
import type { ResolvedTarget } from '../connections/resolve';
import { dumpMysql } from '../mysql/dump';
import { backupPostgres } from '../postgres/backup';
import { parseRdb } from '../redis/rdb-parse';
import { snapshotRdb } from '../redis/rdb-snapshot';
import { backupSqlite } from '../sqlite/backup';
import { integrityCheck, tableRowCounts } from '../sqlite/file-thread';

/** What the dump step knows, kept in `dump.json` until the manifest is committed. */
export type DumpFacts = Pick<
  BackupManifest,
  | 'engine'
  | 'source'
  | 'files'
  | 'rowCounts'
  | 'keyCounts'
  | 'expiringKeys'
  | 'rowCountsConsistent'
  | 'inconsistentTables'
  | 'notes'
> & { startedAt: string; finishedAt: string };

/** Progress callback: file name and bytes written so far. */
export type DumpProgress = (file: string, bytes: number) => void;

/** Dumps `target` into `dir` (emptied first). */
export async function dumpTarget(
  target: ResolvedTarget,
  connections: ConnectionRegistry,
  dir: string,
  formats: readonly BackupFormat[],
  progress: DumpProgress,
  signal?: AbortSignal,
): Promise<DumpFacts> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const startedAt = new Date().toISOString();
  const facts = await dumpByEngine(target, connections, dir, formats, progress, signal);
  const address = sourceAddress(target);
  return {
    ...facts,
    source: { ...facts.source, ...(address ? { address } : {}) },
    startedAt,
    finishedAt: new Date().toISOString(),
  };
}

async function dumpByEngine(
  target: ResolvedTarget,
  connections: ConnectionRegistry,
  dir: string,
  formats: readonly BackupFormat[],
  progress: DumpProgress,
  signal?: AbortSignal,
): Promise<Omit<DumpFacts, 'startedAt' | 'finishedAt'>> {
  const server = { url: target.url ?? '', password: target.password };
  switch (target.engine) {
    case 'postgres': {
      const pool = connections.postgres(target);
      const dump = await backupPostgres({ ...server, pool, label: target.label }, dir, formats, {
        signal,
        onBytes: progress,
      });
      return {
        engine: 'postgres',
        source: {
          label: target.label,
          database: dump.database,
          serverVersion: dump.serverVersion,
          tool: dump.toolVersion,
        },
        files: dump.files.map((f) => ({
          ...fileEntry(f.path, f.bytes, f.sha256),
          kind: f.kind,
          compression: f.compression,
        })),
        rowCounts: dump.rowCounts,
        rowCountsConsistent: true,
        notes: dump.notes,
      };
    }
    case 'mysql': {
      const path = join(dir, 'dump.sql.gz');
      const dump = await dumpMysql(server, path, { signal, onBytes: (n) => progress('dump.sql.gz', n) });
      const notes = dump.rowCountsConsistent
        ? []
        : ['row counts were taken in a snapshot of their own (no RELOAD privilege for FLUSH TABLES WITH READ LOCK)'];
      if (dump.nonTransactionalTables.length > 0)
        notes.push(
          `not snapshot-consistent (not InnoDB): ${dump.nonTransactionalTables.join(', ')}; their rows may differ from the counts`,
        );
      return {
        engine: 'mysql',
        source: {
          label: target.label,
          database: decodeURIComponent(new URL(server.url).pathname.replace(/^\//, '')),
          serverVersion: dump.serverVersion,
          tool: dump.tool,
        },
        files: [{ ...fileEntry(path, dump.bytes, dump.sha256), kind: 'mysql', compression: 'gzip' }],
        rowCounts: dump.rowCounts,
        rowCountsConsistent: dump.rowCountsConsistent,
        inconsistentTables: dump.nonTransactionalTables,
        notes,
      };
    }
    case 'redis': {
      const path = join(dir, 'dump.rdb');
      const snapshot = await snapshotRdb(server, path, { signal, onBytes: (n) => progress('dump.rdb', n) });
      const parsed = await parseRdb(path, { signal });
      return {
        engine: 'redis',
        source: { label: target.label, serverVersion: `RDB version ${snapshot.rdbVersion}` },
        files: [{ ...fileEntry(path, snapshot.bytes, snapshot.sha256), kind: 'rdb', compression: 'none' }],
        keyCounts: parsed.keyCounts,
        expiringKeys: parsed.expiringKeys,
        rowCountsConsistent: true,
        notes: Object.entries(parsed.expiringKeys)
          .filter(([, n]) => (n as number) > 0)
          .map(([db, n]) => `${db}: ${n} key(s) carry a TTL; a restore after they expire holds fewer keys`),
      };
    }
    case 'sqlite': {
      const source = target.path ?? '';
      const path = join(dir, 'database.sqlite');
      const copy = await backupSqlite(source, path);
      const integrity = await integrityCheck(path, signal);
      if (integrity !== 'ok')
        throw new DbopsError(
          ErrorCode.BackupCorrupt,
          `the backup copy of ${source} fails PRAGMA integrity_check (${integrity}): check the source's disk and run the backup again`,
        );
      return {
        engine: 'sqlite',
        source: { label: target.label, database: basename(source) },
        files: [
          { ...fileEntry(path, (await stat(path)).size, copy.backupSha256), kind: 'sqlite', compression: 'none' },
        ],
        rowCounts: await tableRowCounts(path, signal),
        rowCountsConsistent: true,
        notes: [],
      };
    }
  }
}

/**
 * Where the data came from, without user or password: `postgres://host:port/db`, `mysql://…`,
 * `redis://host:port/db`, or the SQLite file's absolute path. A restore compares its target with it.
 */
export function sourceAddress(target: ResolvedTarget): string | undefined {
  if (target.engine === 'sqlite') return target.path;
  if (!target.url) return undefined;
  const u = new URL(target.url);
  const ports = { postgres: '5432', mysql: '3306', redis: '6379' } as const;
  const database =
    decodeURIComponent(u.pathname.replace(/^\//, '')) ||
    (target.engine === 'redis' ? '0' : decodeURIComponent(u.username));
  // The loopback names are one host: `localhost` must not slip past a check against `127.0.0.1`.
  const host = u.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const canonical = host === 'localhost' || host === '::1' || /^127\./.test(host) ? '127.0.0.1' : host;
  return `${target.engine}://${canonical}:${u.port || ports[target.engine]}/${database}`;
}

function fileEntry(path: string, bytes: number, sha256: string): Pick<BackupFile, 'name' | 'bytes' | 'sha256'> {
  return { name: basename(path), bytes, sha256 };
}
