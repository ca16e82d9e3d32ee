/** Built-in defaults: the local stack that `npm run stack` starts on this machine. */
import { hostname } from 'node:os';

/** The local MinIO of `npm run stack`. Loopback-only development credentials, not a secret of any deployment. */
export const LOCAL_MINIO = Object.freeze({
  endpoint: 'http://127.0.0.1:9000',
  consoleAddress: '127.0.0.1:9001',
  accessKeyId: 'dbops-local',
  secretAccessKey: 'dbops-local-secret',
  /** Name of the static KMS key the stack gives MinIO, for SSE-KMS (`aws:kms`) uploads. */
  kmsKeyId: 'dbops-local-key',
});

/** The local Mailpit of `npm run stack`: SMTP without auth or TLS, and its web UI / API. Loopback only. */
export const LOCAL_MAILPIT = Object.freeze({
  smtpHost: '127.0.0.1',
  smtpPort: 1025,
  apiUrl: 'http://127.0.0.1:8025',
});

/** Connections every fresh machine of this kind has: trust auth, no passwords. */
export const LOCAL_CONNECTIONS: Readonly<Record<string, string>> = Object.freeze({
  local_pg: 'postgres://root@127.0.0.1:5432/test',
  local_mysql: 'mysql://root@127.0.0.1:3306/test',
  local_redis: 'redis://127.0.0.1:6379/0',
});

/** A retention policy as configured (see common/retention.ts). */
interface RetentionSettings {
  keepWithinDays: number;
  gfs?: { daily?: number; weekly?: number; monthly?: number; yearly?: number };
  minKeep?: number;
  timeZone?: string;
}

/** The demo SQLite file `npm run stack` and `npm run demo` create (relative to the project folder). */
export const LOCAL_DEMO_SQLITE = '.dbops/demo/helloagents.db';

/** Default values of every option (before the config file and environment are applied). */
export function defaultConfig(): {
  temporal: { address: string; namespace: string; taskQueue: string; uiUrl: string };
  connections: Record<string, string>;
  s3: {
    endpoint?: string;
    region: string;
    bucket: string;
    forcePathStyle: boolean;
    accessKeyId?: string;
    secretAccessKey?: string;
    checksums: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
  };
  artifactDir: string;
  backup: {
    prefix: string;
    formats: ('custom' | 'plain' | 'schema')[];
    verify: 'auto' | 'checksum' | 'read' | 'restore';
    restoreVerifyMaxBytes: number;
    upload: boolean;
    sse: { mode: 'none' | 'AES256' | 'aws:kms'; kmsKeyId?: string };
    retention: {
      local: RetentionSettings;
      s3: RetentionSettings;
      lifecycleBackstopDays: number;
      dryRun: boolean;
    };
  };
  notifications: {
    onSuccess: boolean;
    email?: { host: string; port: number; secure: boolean; from: string; to: string[]; user?: string };
  };
  schedules: {
    nightlyBackup: { at: string; timeZone: string; targets?: string[]; catchupWindowHours: number; paused: boolean };
  };
  worker: {
    shutdownGraceSeconds: number;
    maxConcurrentActivities: number;
    logLevel: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
    hostId: string;
    cacheDir?: string;
    cacheMaxAgeDays: number;
    stageSources?: boolean;
  };
} {
  return {
    temporal: { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'dbops', uiUrl: 'http://127.0.0.1:8233' },
    connections: { ...LOCAL_CONNECTIONS },
    s3: { region: 'us-east-1', bucket: 'dbops', forcePathStyle: true, checksums: 'WHEN_SUPPORTED' },
    artifactDir: 'artifacts',
    backup: {
      prefix: 'backups',
      formats: ['custom', 'plain', 'schema'],
      verify: 'auto',
      // A test restore of up to 10 GiB runs every night; above, `auto` stops at the full read.
      restoreVerifyMaxBytes: 10 * 1024 ** 3,
      upload: true,
      sse: { mode: 'none' },
      retention: {
        local: { keepWithinDays: 30 },
        s3: { keepWithinDays: 90 },
        lifecycleBackstopDays: 7,
        dryRun: false,
      },
    },
    notifications: { onSuccess: true },
    schedules: { nightlyBackup: { at: '03:00', timeZone: 'UTC', catchupWindowHours: 4, paused: false } },
    worker: {
      shutdownGraceSeconds: 30,
      maxConcurrentActivities: 8,
      logLevel: 'INFO',
      hostId: defaultHostId(),
      // cacheDir: <artifactDir>/cache unless set; stageSources: backup.upload unless set (config/load.ts).
      cacheMaxAgeDays: 7,
    },
  };
}

/**
 * The machine's host name as a host id (docs/architecture.md, "Scale out"): the characters a task queue
 * name and a file name can both carry, others replaced by "-".
 */
export function defaultHostId(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 100) || 'localhost'
  );
}
