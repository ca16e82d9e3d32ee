/**
 * Every environment variable the config module reads, in one list, so docker-compose.yml, the README and
 * the stack can be checked against it. Per-connection variables are patterns (see common/connection-ref.ts).
 */

/** Fixed-name environment variables, with what each sets. */
export const CONFIG_ENV_VARS = {
  DBOPS_CONFIG: 'path of an optional JSON config file (default ./dbops.config.json when present)',
  DBOPS_TEMPORAL_ADDRESS: 'Temporal frontend host:port (default 127.0.0.1:7233)',
  DBOPS_TEMPORAL_NAMESPACE: 'Temporal namespace (default "default")',
  DBOPS_TASK_QUEUE: 'task queue the worker polls and the CLI starts on (default "dbops")',
  DBOPS_TEMPORAL_UI_URL: 'Web UI base URL printed in links (default http://127.0.0.1:8233)',
  DBOPS_ARTIFACT_DIR: 'folder for backups, dumps and reports (default ./artifacts)',
  DBOPS_S3_ENDPOINT: 'S3 endpoint URL; unset with no config file means the local MinIO at http://127.0.0.1:9000',
  DBOPS_S3_REGION: 'S3 region (default us-east-1)',
  DBOPS_S3_BUCKET: 'S3 bucket for artifacts (default dbops)',
  DBOPS_S3_FORCE_PATH_STYLE: 'true for MinIO and most S3-compatible stores (default true)',
  DBOPS_S3_ACCESS_KEY_ID: 'S3 access key id (else the AWS default chain; local MinIO: dbops-local)',
  DBOPS_S3_SECRET_ACCESS_KEY: 'S3 secret key (environment only)',
  DBOPS_S3_CHECKSUMS: 'WHEN_SUPPORTED (AWS default) or WHEN_REQUIRED for stores that reject CRC32 checksums',
  DBOPS_BACKUP_SSE: 'server-side encryption of uploaded backups: none (default), AES256 (SSE-S3) or aws:kms',
  DBOPS_BACKUP_SSE_KMS_KEY_ID: 'KMS key id for DBOPS_BACKUP_SSE=aws:kms (default: the bucket key)',
  DBOPS_WORKER_SHUTDOWN_GRACE_SECONDS: 'seconds running activities get to finish on SIGTERM (default 30)',
  DBOPS_WORKER_MAX_CONCURRENT_ACTIVITIES: 'activity slots per worker (default 8)',
  DBOPS_WORKER_HOST:
    'host id of the worker (default: the host name): names its host task queue <taskQueue>@<host>; workers that share a filesystem may share it',
  DBOPS_WORKER_CACHE_DIR: 'folder where the worker caches sources staged by other hosts (default <artifactDir>/cache)',
  DBOPS_WORKER_CACHE_MAX_AGE_DAYS: 'cached sources unused for this many days are removed at worker start (default 7)',
  DBOPS_WORKER_STAGE_SOURCES:
    "true: a migration stages its source backup in the bucket so workers on other hosts can import (default: backup.upload's value)",
  DBOPS_LOG_LEVEL: 'worker log level: TRACE, DEBUG, INFO, WARN or ERROR (default INFO)',
  DBOPS_NOTIFY_WEBHOOK_URL:
    'Slack-compatible incoming-webhook URL for backup notifications (a secret: environment only)',
  DBOPS_SMTP_PASSWORD: 'password of notifications.email.user on the SMTP server (environment only)',
  PGPASSFILE: 'host-keyed passwords of ad-hoc PostgreSQL URLs, libpq .pgpass format (default ~/.pgpass)',
  DBOPS_MYSQL_PASSFILE: 'host-keyed passwords of ad-hoc MySQL/MariaDB URLs, in the .pgpass format',
  DBOPS_REDIS_PASSFILE: 'host-keyed passwords of ad-hoc Redis URLs, .pgpass format (database = db index)',
} as const;

/** Prefixes of per-connection variables: `DBOPS_CONNECTION_<NAME>` (URL) and `DBOPS_PASSWORD_<NAME>`. */
export const CONFIG_ENV_PREFIXES = ['DBOPS_CONNECTION_', 'DBOPS_PASSWORD_'] as const;

/** True when `name` is an environment variable the config module understands. */
export function isKnownEnvVar(name: string): boolean {
  return name in CONFIG_ENV_VARS || CONFIG_ENV_PREFIXES.some((p) => name.startsWith(p) && name.length > p.length);
}
