/**
 * The config module (one for the whole project): defaults, then an optional `dbops.config.json`, then the environment,
 * validated into one frozen, typed object. Nothing here connects to anything. Errors name the option, where
 * its value came from, and the rule it broke.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { connectionEnvVar, passwordEnvVar } from '../common/connection-ref';
import { DbopsError, ErrorCode } from '../common/errors';
import { findSecrets } from '../common/secret-guard';
import { defaultConfig, LOCAL_CONNECTIONS, LOCAL_DEMO_SQLITE, LOCAL_MAILPIT, LOCAL_MINIO } from './defaults';
import { configSchema, type DbopsConfig } from './schema';

export type { DbopsConfig } from './schema';

/** Where to read from; both default to the current process. */
export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

type Raw = ReturnType<typeof defaultConfig>;

/** Loads and validates the configuration; throws a DbopsError (DBOPS_CONFIG_INVALID) naming the bad option. */
export function loadConfig(options: LoadConfigOptions = {}): DbopsConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const config = defaultConfig();
  const sources = new Map<string, string>();

  const file = readConfigFile(env, cwd);
  if (file) mergeFile(config, file.data, file.path, sources);
  applyEnv(config, env, sources);

  // The local MinIO is the default only when nobody configured an endpoint; its dev credentials come along.
  if (config.s3.endpoint === undefined && !sources.has('s3.endpoint') && !file) {
    config.s3.endpoint = LOCAL_MINIO.endpoint;
    config.s3.accessKeyId ??= LOCAL_MINIO.accessKeyId;
    config.s3.secretAccessKey ??= LOCAL_MINIO.secretAccessKey;
  }
  if (!file) applyLocalStackDefaults(config, cwd);
  config.artifactDir = isAbsolute(config.artifactDir) ? config.artifactDir : resolve(cwd, config.artifactDir);
  config.worker.cacheDir = resolve(cwd, config.worker.cacheDir ?? join(config.artifactDir, 'cache'));
  // Staging the migration's source in the object store goes with the backups' use of it, unless set.
  config.worker.stageSources ??= config.backup.upload;

  const parsed = configSchema.safeParse(config);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const path = issue.path.join('.');
      const source = sources.get(path) ?? sources.get(issue.path.slice(0, 2).join('.')) ?? 'default';
      return `${path} (from ${source}): ${issue.message}`;
    });
    throw new DbopsError(ErrorCode.ConfigInvalid, `invalid configuration: ${problems.join('; ')}`);
  }
  return deepFreeze(parsed.data);
}

/**
 * Without a config file dbops runs against the local stack: notifications go to its Mailpit, and the nightly
 * Schedule backs up the machine's three servers and the demo SQLite file.
 */
function applyLocalStackDefaults(config: Raw, cwd: string): void {
  config.notifications.email ??= {
    host: LOCAL_MAILPIT.smtpHost,
    port: LOCAL_MAILPIT.smtpPort,
    secure: false,
    from: 'dbops@localhost',
    to: ['operators@localhost'],
  };
  config.schedules.nightlyBackup.targets ??= [...Object.keys(LOCAL_CONNECTIONS), resolve(cwd, LOCAL_DEMO_SQLITE)];
}

/** Secrets of the notification channels, read from the environment at the moment they are needed. */
export function notificationSecrets(env: NodeJS.ProcessEnv = process.env): {
  webhookUrl?: string;
  smtpPassword?: string;
} {
  const pick = (name: string): string | undefined =>
    env[name] === undefined || env[name] === '' ? undefined : env[name];
  return { webhookUrl: pick('DBOPS_NOTIFY_WEBHOOK_URL'), smtpPassword: pick('DBOPS_SMTP_PASSWORD') };
}

/** The password of a named connection, read from the environment at the moment it is needed. */
export function connectionPassword(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[passwordEnvVar(name)];
  return value === undefined || value === '' ? undefined : value;
}

function readConfigFile(env: NodeJS.ProcessEnv, cwd: string): { path: string; data: unknown } | undefined {
  const explicit = env.DBOPS_CONFIG;
  const path = explicit ? resolve(cwd, explicit) : resolve(cwd, 'dbops.config.json');
  if (!existsSync(path)) {
    if (explicit) {
      throw new DbopsError(
        ErrorCode.ConfigInvalid,
        `DBOPS_CONFIG points at ${path}, which does not exist: fix the path or unset DBOPS_CONFIG`,
      );
    }
    return undefined;
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DbopsError(ErrorCode.ConfigInvalid, `${path} is not valid JSON: ${(err as Error).message}`);
  }
  const secrets = findSecrets(data, 'config');
  if (secrets.length > 0) {
    const where = secrets.map((s) => `${s.path} (${s.reason})`).join('; ');
    throw new DbopsError(
      ErrorCode.ConfigInvalid,
      `${path} holds a secret: ${where}. Secrets are read from the environment only: DBOPS_PASSWORD_<NAME> for connections, DBOPS_S3_SECRET_ACCESS_KEY for S3.`,
    );
  }
  return { path, data };
}

function mergeFile(config: Raw, data: unknown, path: string, sources: Map<string, string>): void {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new DbopsError(ErrorCode.ConfigInvalid, `${path} must hold a JSON object`);
  }
  const target = config as unknown as Record<string, unknown>;
  for (const [section, value] of Object.entries(data as Record<string, unknown>)) {
    const current = target[section];
    if (isPlainObject(current) && isPlainObject(value)) {
      // connections from the file replace the built-in local ones; other sections merge key by key.
      target[section] = section === 'connections' ? { ...value } : { ...current, ...value };
      for (const key of Object.keys(value)) sources.set(`${section}.${key}`, path);
    } else {
      target[section] = value;
    }
    sources.set(section, path);
  }
}

function applyEnv(config: Raw, env: NodeJS.ProcessEnv, sources: Map<string, string>): void {
  const set = (name: string, path: string, apply: (value: string) => void): void => {
    const value = env[name];
    if (value === undefined || value === '') return;
    apply(value);
    sources.set(path, `env ${name}`);
  };
  set('DBOPS_TEMPORAL_ADDRESS', 'temporal.address', (v) => (config.temporal.address = v));
  set('DBOPS_TEMPORAL_NAMESPACE', 'temporal.namespace', (v) => (config.temporal.namespace = v));
  set('DBOPS_TASK_QUEUE', 'temporal.taskQueue', (v) => (config.temporal.taskQueue = v));
  set('DBOPS_TEMPORAL_UI_URL', 'temporal.uiUrl', (v) => (config.temporal.uiUrl = v));
  set('DBOPS_ARTIFACT_DIR', 'artifactDir', (v) => (config.artifactDir = v));
  set('DBOPS_S3_ENDPOINT', 's3.endpoint', (v) => (config.s3.endpoint = v));
  set('DBOPS_S3_REGION', 's3.region', (v) => (config.s3.region = v));
  set('DBOPS_S3_BUCKET', 's3.bucket', (v) => (config.s3.bucket = v));
  set(
    'DBOPS_S3_FORCE_PATH_STYLE',
    's3.forcePathStyle',
    (v) => (config.s3.forcePathStyle = parseBool('DBOPS_S3_FORCE_PATH_STYLE', v)),
  );
  set('DBOPS_S3_ACCESS_KEY_ID', 's3.accessKeyId', (v) => (config.s3.accessKeyId = v));
  set('DBOPS_S3_SECRET_ACCESS_KEY', 's3.secretAccessKey', (v) => (config.s3.secretAccessKey = v));
  set('DBOPS_S3_CHECKSUMS', 's3.checksums', (v) => (config.s3.checksums = v as Raw['s3']['checksums']));
  set('DBOPS_BACKUP_SSE', 'backup.sse.mode', (v) => (config.backup.sse.mode = v as Raw['backup']['sse']['mode']));
  set('DBOPS_BACKUP_SSE_KMS_KEY_ID', 'backup.sse.kmsKeyId', (v) => (config.backup.sse.kmsKeyId = v));
  set('DBOPS_WORKER_SHUTDOWN_GRACE_SECONDS', 'worker.shutdownGraceSeconds', (v) => {
    config.worker.shutdownGraceSeconds = parseInteger('DBOPS_WORKER_SHUTDOWN_GRACE_SECONDS', v);
  });
  set('DBOPS_WORKER_MAX_CONCURRENT_ACTIVITIES', 'worker.maxConcurrentActivities', (v) => {
    config.worker.maxConcurrentActivities = parseInteger('DBOPS_WORKER_MAX_CONCURRENT_ACTIVITIES', v);
  });
  set('DBOPS_WORKER_HOST', 'worker.hostId', (v) => (config.worker.hostId = v));
  set('DBOPS_WORKER_CACHE_DIR', 'worker.cacheDir', (v) => (config.worker.cacheDir = v));
  set('DBOPS_WORKER_CACHE_MAX_AGE_DAYS', 'worker.cacheMaxAgeDays', (v) => {
    config.worker.cacheMaxAgeDays = parseInteger('DBOPS_WORKER_CACHE_MAX_AGE_DAYS', v);
  });
  set(
    'DBOPS_WORKER_STAGE_SOURCES',
    'worker.stageSources',
    (v) => (config.worker.stageSources = parseBool('DBOPS_WORKER_STAGE_SOURCES', v)),
  );
  set(
    'DBOPS_LOG_LEVEL',
    'worker.logLevel',
    (v) => (config.worker.logLevel = v.toUpperCase() as Raw['worker']['logLevel']),
  );
  for (const [name, value] of Object.entries(env)) {
    const match = /^DBOPS_CONNECTION_([A-Z0-9_]+)$/.exec(name);
    if (!match?.[1] || value === undefined || value === '') continue;
    const connection = match[1].toLowerCase();
    config.connections[connection] = value;
    sources.set(`connections.${connection}`, `env ${connectionEnvVar(connection)}`);
  }
}

function parseInteger(name: string, value: string): number {
  if (!/^-?\d+$/.test(value.trim())) {
    throw new DbopsError(ErrorCode.ConfigInvalid, `invalid configuration: ${name}="${value}" must be a whole number`);
  }
  return Number(value);
}

function parseBool(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(v)) return true;
  if (['false', '0', 'no'].includes(v)) return false;
  throw new DbopsError(ErrorCode.ConfigInvalid, `invalid configuration: ${name}="${value}" must be true or false`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (isPlainObject(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
