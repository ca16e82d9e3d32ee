/**
 * Error codes shared by workflows, activities, the worker and the CLI.
 *
 * Each code is used as the `type` of a Temporal ApplicationFailure, so the Web UI, `dbops result` and
 * the workflow's own error handling can branch on it without parsing messages. This file is pure: it is
 * imported by workflow code.
 */

/** Stable, documented failure codes. */
export const ErrorCode = {
  /** An input value is invalid (bad option, bad name, missing file). Never retried. */
  BadInput: 'DBOPS_BAD_INPUT',
  /** A workflow input carries a password or other secret. Never retried. */
  SecretInInput: 'DBOPS_SECRET_IN_INPUT',
  /** A connection name is not configured on the worker. Never retried. */
  UnknownConnection: 'DBOPS_UNKNOWN_CONNECTION',
  /** The worker's or CLI's configuration is invalid. Never retried. */
  ConfigInvalid: 'DBOPS_CONFIG_INVALID',
  /** A server refused or dropped the connection. Retried with backoff. */
  Unreachable: 'DBOPS_UNREACHABLE',
  /** The server rejected the credentials. Never retried. */
  AuthFailed: 'DBOPS_AUTH_FAILED',
  /** The named database does not exist on the server. Never retried. */
  DatabaseMissing: 'DBOPS_DATABASE_MISSING',
  /** Bytes read back do not hash to the recorded SHA-256 (a transfer may be retried; a corrupt copy fails again). */
  ChecksumMismatch: 'DBOPS_CHECKSUM_MISMATCH',
  /** A migration's verification found the target's rows differ from the source's. Never retried. */
  VerifyMismatch: 'DBOPS_VERIFY_MISMATCH',
  /** An operator asked for a rollback (the `rollback` signal). */
  RollbackRequested: 'DBOPS_ROLLBACK_REQUESTED',
  /** A migration failed for a reason that carried no dbops code of its own. */
  MigrationFailed: 'DBOPS_MIGRATION_FAILED',
  /** A rollback could not undo every step: the message lists what is left and the SQL to finish it. */
  RollbackIncomplete: 'DBOPS_ROLLBACK_INCOMPLETE',
  /** The migration is live but a step after the rollback window failed (nothing was undone): see what is left. */
  FinalizeIncomplete: 'DBOPS_FINALIZE_INCOMPLETE',
  /** A command-line tool dbops runs (pg_dump, mariadb-dump, redis-server…) is missing or too old. Never retried. */
  ToolMissing: 'DBOPS_TOOL_MISSING',
  /** The S3 bucket does not exist or cannot be used with the configured credentials. Never retried. */
  BucketMissing: 'DBOPS_BUCKET_MISSING',
  /** A backup failed verification (corrupt file, failed read, row counts differ after a test restore). Never retried. */
  BackupCorrupt: 'DBOPS_BACKUP_CORRUPT',
  /** A restore was refused before anything was touched (target not empty, target is the source…). Never retried. */
  RestoreRefused: 'DBOPS_RESTORE_REFUSED',
  /** A scratch database dbops wanted to create already exists and is not one of its own. Never retried. */
  ScratchExists: 'DBOPS_SCRATCH_EXISTS',
  /** A backup failed for a reason that carried no dbops code of its own. */
  BackupFailed: 'DBOPS_BACKUP_FAILED',
} as const;

/** One of the values of {@link ErrorCode}. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

const NON_RETRYABLE: ReadonlySet<string> = new Set([
  ErrorCode.BadInput,
  ErrorCode.SecretInInput,
  ErrorCode.UnknownConnection,
  ErrorCode.ConfigInvalid,
  ErrorCode.AuthFailed,
  ErrorCode.DatabaseMissing,
  ErrorCode.VerifyMismatch,
  ErrorCode.RollbackRequested,
  ErrorCode.RollbackIncomplete,
  ErrorCode.FinalizeIncomplete,
  ErrorCode.ToolMissing,
  ErrorCode.BucketMissing,
  ErrorCode.BackupCorrupt,
  ErrorCode.RestoreRefused,
  ErrorCode.ScratchExists,
]);

/** True when a failure of this code must not be retried: retrying cannot change the outcome. */
export function isNonRetryableCode(code: string): boolean {
  return NON_RETRYABLE.has(code);
}

/**
 * The one error class of dbops. `code` is stable; `message` names the object and the fix. Activities
 * turn it into an ApplicationFailure (see activities/failures.ts); the CLI prints it and exits.
 */
export class DbopsError extends Error {
  /** Stable code, also the ApplicationFailure type. */
  readonly code: ErrorCodeValue;
  /** Whether retrying the operation might succeed. Derived from the code unless given. */
  readonly retryable: boolean;

  constructor(code: ErrorCodeValue, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DbopsError';
    this.code = code;
    this.retryable = options.retryable ?? !isNonRetryableCode(code);
  }
}
