/**
 * The contract of the backup jobs — `nightlyBackup`, `backupDatabase`, `restoreBackup` — their inputs,
 * results and the manifest every backup ends with. Imported by the workflows, the activities, the CLI and the
 * tests. Pure.
 *
 * A backup is a folder `<target>/<timestamp>/` (locally under `<artifactDir>/<prefix>/`, in S3 under
 * `<prefix>/`) holding the dump files and, written last, `manifest.json`: a folder without a manifest is an
 * unfinished backup and is never listed, restored or counted by retention.
 */
import { z } from 'zod';
import type { Engine } from '../connection-ref';
import type { RetentionDecision } from '../retention';

/** Workflow types, as operators type them in the Web UI's Start Workflow form. */
export const NIGHTLY_BACKUP_WORKFLOW = 'nightlyBackup';
export const BACKUP_DATABASE_WORKFLOW = 'backupDatabase';
export const RESTORE_WORKFLOW = 'restoreBackup';

/** The manifest's file name; its presence commits a backup. */
export const MANIFEST_FILE = 'manifest.json';

/** pg_dump formats (PostgreSQL only). */
export type BackupFormat = 'custom' | 'plain' | 'schema';
/** Verification levels, weakest first: each includes the ones before it. */
export const VERIFY_LEVELS = ['checksum', 'read', 'restore'] as const;
export type VerifyLevel = (typeof VERIFY_LEVELS)[number];

/** Backup ids: `<target>/<UTC timestamp>`, e.g. `local_pg/20261130T030000Z`. */
export const BACKUP_TIMESTAMP = /^\d{8}T\d{6}Z$/;
const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** `2026-11-30T03:00:00.000Z` → `20261130T030000Z`. */
export function backupTimestamp(instant: Date): string {
  return instant
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** True when `stamp` is a backup timestamp naming a real instant (not 20261399T999999Z). */
export function isRealTimestamp(stamp: string): boolean {
  if (!BACKUP_TIMESTAMP.test(stamp)) return false;
  const iso = timestampToIso(stamp);
  const parsed = new Date(iso);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().replace('.000Z', 'Z') === iso;
}

/** `20261130T030000Z` → the ISO instant. */
export function timestampToIso(stamp: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp);
  if (!m) throw new Error(`"${stamp}" is not a backup timestamp (YYYYMMDDTHHMMSSZ)`);
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
}

/** Splits a backup id; undefined when it is not one. */
export function parseBackupId(id: string): { target: string; timestamp: string } | undefined {
  const slash = id.lastIndexOf('/');
  const target = id.slice(0, slash);
  const timestamp = id.slice(slash + 1);
  return slash > 0 && TARGET_NAME.test(target) && BACKUP_TIMESTAMP.test(timestamp) ? { target, timestamp } : undefined;
}

/**
 * The folder name a target's backups live under: a connection name as is; a URL as
 * `<engine>-<host>-<port>-<database>`; a SQLite path as `sqlite-<file name without extension>`.
 */
export function backupTargetName(ref: string): string {
  const slug = (s: string): string =>
    s
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[^A-Za-z0-9]+|-+$/g, '')
      .slice(0, 120) || 'db';
  const url = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(ref.trim());
  if (url && !/^sqlite$/i.test(url[1] ?? '')) {
    try {
      const u = new URL(ref);
      const engine = /^postgres/i.test(u.protocol)
        ? 'postgres'
        : /^(mysql|mariadb)/i.test(u.protocol)
          ? 'mysql'
          : 'redis';
      return slug(
        `${engine}-${u.hostname}-${u.port || 'default'}-${decodeURIComponent(u.pathname.replace(/^\//, '')) || 'default'}`,
      );
    } catch {
      return slug(ref);
    }
  }
  if (url || ref.includes('/') || /\.(db|sqlite3?|db3)$/i.test(ref)) {
    const file = (url ? (url[2] ?? '') : ref).split('/').pop() ?? 'db';
    return slug(`sqlite-${file.replace(/\.[^.]*$/, '')}`);
  }
  return slug(ref);
}

/** One file of a backup. */
export interface BackupFile {
  /** File name inside the backup folder. */
  name: string;
  /** What it holds: a pg_dump format, `globals`, `mysql`, `rdb`, `sqlite`. */
  kind: BackupFormat | 'globals' | 'mysql' | 'rdb' | 'sqlite';
  bytes: number;
  sha256: string;
  compression: 'pg-custom' | 'gzip' | 'none';
}

/** Outcome of verifying a backup. */
export interface VerificationOutcome {
  /** The highest level that passed (`none` when even the checksum failed or nothing ran yet). */
  level: VerifyLevel | 'none';
  /** The level asked for. */
  requested: VerifyLevel;
  status: 'pending' | 'passed' | 'failed';
  checkedAt?: string;
  /** What was checked, one line each; on failure the first line says what failed. */
  details: string[];
}

/** The manifest: what a backup is, written last. */
export interface BackupManifest {
  formatVersion: 1;
  backupId: string;
  target: string;
  engine: Engine;
  /** The UTC timestamp of the id, ISO (the Schedule's time for a scheduled run). */
  takenAt: string;
  /** When the dump actually started and ended. */
  startedAt: string;
  finishedAt: string;
  workflowId: string;
  source: {
    label: string;
    /** `engine://host:port/database` (no user, no password) or the SQLite path: what a restore must not overwrite by accident. */
    address?: string;
    database?: string;
    serverVersion?: string;
    tool?: string;
  };
  files: BackupFile[];
  /** Rows per table, counted in the dump's own snapshot (PostgreSQL, MySQL/MariaDB, SQLite). */
  rowCounts?: Record<string, number>;
  /** Keys per Redis database, as in the snapshot. */
  keyCounts?: Record<string, number>;
  /** Of those, keys with a TTL per Redis database (they may have expired by the time a copy is loaded). */
  expiringKeys?: Record<string, number>;
  /** False when the row counts could not be taken in the dump's snapshot (see notes). */
  rowCountsConsistent?: boolean;
  /** Tables whose rows are not snapshot-consistent (MySQL non-InnoDB). */
  inconsistentTables?: string[];
  notes: string[];
  verification: VerificationOutcome;
  /** Where copies are: local always (until retention), S3 when uploaded. */
  s3?: { bucket: string; prefix: string; serverSideEncryption?: string };
}

const targetList = z.array(z.string().min(1)).max(200);
const formats = z
  .array(z.enum(['custom', 'plain', 'schema']))
  .min(1)
  .max(3);
const verify = z.enum(VERIFY_LEVELS);

/** Input of `backupDatabase` (normally started by `nightlyBackup`, also startable on its own). */
export const backupDatabaseInputSchema = z.strictObject({
  /** A connection name, password-free URL or SQLite path. */
  target: z.string().min(1),
  /** The backup's timestamp (YYYYMMDDTHHMMSSZ); default: the workflow's start time. */
  timestamp: z
    .string()
    .refine(isRealTimestamp, 'must be a real UTC instant written YYYYMMDDTHHMMSSZ, e.g. 20261130T030000Z')
    .optional(),
  formats: formats.optional(),
  /** Highest verification to run; default: the config's (`auto`: restore up to backup.restoreVerifyMaxBytes). */
  verify: verify.optional(),
  /** Upload to S3 (default: config backup.upload). */
  upload: z.boolean().optional(),
});
export type BackupDatabaseInput = z.infer<typeof backupDatabaseInputSchema>;

/** Input of `nightlyBackup`: one JSON object, so the Web UI and Schedules can send it. */
export const nightlyBackupInputSchema = z.strictObject({
  /** Default: the Schedule's targets in config, else every configured connection. */
  targets: targetList.optional(),
  formats: formats.optional(),
  verify: verify.optional(),
  upload: z.boolean().optional(),
  /** Only report what retention would delete. */
  retentionDryRun: z.boolean().optional(),
  /** Skip retention entirely this run. */
  skipRetention: z.boolean().optional(),
  /** Fixed timestamp (YYYYMMDDTHHMMSSZ); default: the Schedule's time, else the start time. */
  timestamp: z
    .string()
    .refine(isRealTimestamp, 'must be a real UTC instant written YYYYMMDDTHHMMSSZ, e.g. 20261130T030000Z')
    .optional(),
});
export type NightlyBackupInput = z.infer<typeof nightlyBackupInputSchema>;

/** Input of `restoreBackup`. */
export const restoreInputSchema = z.strictObject({
  /** `<target>/<timestamp>` or `<target>:latest` (newest verified backup of that target). */
  backup: z.string().min(1),
  /** Where to restore: a connection name, password-free URL or SQLite path. */
  target: z.string().min(1),
  /** Read the backup from `s3` or `local` (default: local when present, else S3). */
  from: z.enum(['local', 's3']).optional(),
  /** Drop the objects the backup holds before creating them (required for a non-empty target). */
  clean: z.boolean().optional(),
  /** Create the target database when it does not exist. */
  createDatabase: z.boolean().optional(),
  /** Allow restoring onto the very database the backup was taken from. */
  overwriteSource: z.boolean().optional(),
  /** Restore a backup whose verification failed (refused otherwise: it is known to be damaged or incomplete). */
  allowUnverified: z.boolean().optional(),
  /** pg_restore parallel jobs (default 2). */
  jobs: z.number().int().min(1).max(32).optional(),
});
export type RestoreInput = z.infer<typeof restoreInputSchema>;

/** Problems of an input as sentences (empty when valid). */
export function inputProblems(schema: z.ZodType, input: unknown): string[] {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return [];
  return parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'input'}: ${i.message}`);
}

/** Result of `backupDatabase`. */
export interface BackupDatabaseResult {
  status: 'completed' | 'failed';
  target: string;
  engine?: Engine;
  backupId?: string;
  files: BackupFile[];
  totalBytes: number;
  verification?: VerificationOutcome;
  uploaded: boolean;
  /** True when this run found the backup already committed (a retried or replayed run) and made no new set. */
  reused?: boolean;
  durationMs: number;
  timings: Record<string, number>;
  error?: { type: string; message: string };
}

/** Retention of one location for one target. */
export interface RetentionReport {
  location: 'local' | 's3';
  target: string;
  dryRun: boolean;
  decisions: RetentionDecision[];
  deleted: string[];
  /** Backups that never got a manifest (a run died), removed once two days old (listed even on a dry run). */
  unfinishedRemoved: string[];
  /** Objects or folders under the prefix that are not dbops backups: never touched. */
  ignored: string[];
  skipped?: string;
}

/** Result of `nightlyBackup`. */
export interface NightlyBackupResult {
  status: 'completed' | 'partial' | 'failed';
  timestamp: string;
  backups: BackupDatabaseResult[];
  failed: string[];
  retention: RetentionReport[];
  /** Why retention did not run to the end (the backups of the night are unaffected). */
  retentionError?: { type: string; message: string };
  notification: { sent: string[]; failed: { channel: string; error: string }[] };
  durationMs: number;
}

/** Result of `restoreBackup`. */
export interface RestoreResult {
  status: 'completed';
  backupId: string;
  target: string;
  engine: Engine;
  from: 'local' | 's3';
  createdDatabase: boolean;
  /** Per table (or Redis db): rows in the manifest vs rows after the restore. */
  counts: { name: string; expected: number; actual: number }[];
  durationMs: number;
}
