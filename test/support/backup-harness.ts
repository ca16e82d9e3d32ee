/**
 * Helpers for the backup fault tests (test/integration/backup-faults*.test.ts): a MinIO of the test's own
 * that can be SIGKILLed and started again on the same port and data, a real worker process (`dist/workers/
 * main.js`) with an environment of the test's choosing (PATH, passwords, S3), a per-test config file (its own
 * backup prefix, its own e-mail recipient), PostgreSQL databases with incompressible data, S3 listings and
 * Mailpit reads. Everything here is owned by the test that made it and removed by it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { temporal } from '@temporalio/proto';
import { ensureBucket } from '../../activities/s3/client';
import { LOCAL_MINIO } from '../../config/defaults';
import { PATHS } from '../../scripts/stack/paths';
import { freePort } from './backup';
import { SERVERS, withPg } from './servers';
import { testEnv, uniqueName } from './temporal';

/** S3 endpoint, credentials and bucket a worker is pointed at. */
export interface S3Target {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
}

/** The stack's shared MinIO (tests use buckets of their own on it). */
export const SHARED_MINIO: Omit<S3Target, 'bucket'> = {
  endpoint: LOCAL_MINIO.endpoint,
  accessKeyId: LOCAL_MINIO.accessKeyId,
  secretAccessKey: LOCAL_MINIO.secretAccessKey,
};

/** An S3 client for the test itself: one attempt per call, so a poll during an outage fails fast. */
export function testS3(s3: Omit<S3Target, 'bucket'>): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    maxAttempts: 1,
  });
}

/** Creates `bucket` on the server of `s3` (no-op when it exists). */
export async function createBucket(s3: Omit<S3Target, 'bucket'>, bucket: string): Promise<void> {
  const client = testS3(s3);
  try {
    await ensureBucket(client, bucket);
  } finally {
    client.destroy();
  }
}

/**
 * Writes `<dir>/dbops.config.json` (a backup prefix of the test's own, no notification unless `email` is
 * given, the file's `extra` sections merged in) and returns the worker environment that uses it, `dir/
 * artifacts` and `s3`. With a config file dbops applies no local-stack default, so nothing leaks in.
 */
export function backupEnv(options: {
  dir: string;
  prefix: string;
  s3: S3Target;
  /** Recipient of e-mail notifications through the stack's Mailpit; none when absent. */
  email?: string;
  extra?: Record<string, unknown>;
  env?: Record<string, string>;
}): Record<string, string> {
  mkdirSync(options.dir, { recursive: true });
  const file = join(options.dir, 'dbops.config.json');
  const config = {
    backup: { prefix: options.prefix },
    notifications: options.email
      ? {
          onSuccess: true,
          email: {
            host: SERVERS.smtp.host,
            port: SERVERS.smtp.port,
            secure: false,
            from: 'dbops@localhost',
            to: [options.email],
          },
        }
      : { onSuccess: false },
    ...options.extra,
  };
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return {
    DBOPS_CONFIG: file,
    DBOPS_ARTIFACT_DIR: join(options.dir, 'artifacts'),
    DBOPS_S3_ENDPOINT: options.s3.endpoint,
    DBOPS_S3_ACCESS_KEY_ID: options.s3.accessKeyId,
    DBOPS_S3_SECRET_ACCESS_KEY: options.s3.secretAccessKey,
    DBOPS_S3_BUCKET: options.s3.bucket,
    ...options.env,
  };
}

/** Resolves when `child` exits (at once when it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return once(child, 'exit').then(() => undefined);
}

/**
 * A MinIO server only this test uses: its own port, data folder and credentials. `kill()` is a SIGKILL (the
 * server stops mid-request); `restart()` starts it again on the same port and data.
 */
export class PrivateMinio {
  readonly accessKeyId = 'faults-minio';
  readonly secretAccessKey = `faults-${randomBytes(12).toString('hex')}`;
  private child: ChildProcess | undefined;
  private log = '';

  private constructor(
    readonly dataDir: string,
    readonly port: number,
    private readonly consolePort: number,
  ) {}

  /** Starts a server on free ports with `dataDir` as its storage; resolves once it is healthy. */
  static async start(dataDir: string): Promise<PrivateMinio> {
    mkdirSync(dataDir, { recursive: true });
    const minio = new PrivateMinio(dataDir, await freePort(), await freePort());
    await minio.launch();
    return minio;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Endpoint and credentials, plus `bucket`. */
  s3(bucket: string): S3Target {
    return { endpoint: this.endpoint, accessKeyId: this.accessKeyId, secretAccessKey: this.secretAccessKey, bucket };
  }

  private async launch(): Promise<void> {
    // KMS variables of the caller's shell would make MinIO refuse to start.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MINIO_')));
    const child = spawn(
      join(PATHS.toolsBin, 'minio'),
      [
        'server',
        this.dataDir,
        '--address',
        `127.0.0.1:${this.port}`,
        '--console-address',
        `127.0.0.1:${this.consolePort}`,
      ],
      {
        env: {
          ...inherited,
          MINIO_ROOT_USER: this.accessKeyId,
          MINIO_ROOT_PASSWORD: this.secretAccessKey,
          MINIO_BROWSER: 'off',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    // MinIO prints its startup banner ("API: http://…") once it serves requests: that line is the signal.
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        this.log += chunk.toString();
        if (/^API: /m.test(this.log)) resolve();
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) =>
        reject(new Error(`MinIO on port ${this.port} exited at start (${code}): ${this.log}`)),
      );
    });
    const health = await fetch(`${this.endpoint}/minio/health/live`);
    if (!health.ok)
      throw new Error(`MinIO on port ${this.port} started but is not healthy (${health.status}): ${this.log}`);
  }

  /** SIGKILL: the server dies mid-request, as on a crash or an OOM kill. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await exited(child);
    this.child = undefined;
  }

  /** Starts the server again on the same port and data; resolves once it is healthy. */
  async restart(): Promise<void> {
    if (this.child) throw new Error('MinIO is still running');
    await this.launch();
  }

  /** Stops the server (SIGTERM) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    await exited(child);
    this.child = undefined;
  }
}

/**
 * `node dist/workers/main.js` with the test environment plus `env` (which may replace PATH), in a process
 * group of its own so that `killGroup()` also ends the tools it started (a pg_dump left by a SIGKILLed worker).
 */
export class WorkerProcess {
  private output = '';
  readonly exited: Promise<void>;

  private constructor(
    readonly child: ChildProcess,
    readonly taskQueue: string,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = exited(child);
  }

  /** Starts a worker polling `taskQueue`. */
  static start(taskQueue: string, env: Record<string, string>): WorkerProcess {
    const child = spawn(process.execPath, [PATHS.workerEntry], {
      cwd: PATHS.root,
      env: {
        ...process.env,
        ...PATHS.workerEnv,
        ...testEnv(taskQueue, { DBOPS_LOG_LEVEL: 'WARN', ...env }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    return new WorkerProcess(child, taskQueue);
  }

  /** What the worker printed (for failure messages). */
  log(): string {
    return this.output;
  }

  /** Sends `signal` to the worker process only. */
  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /** SIGKILLs the worker's whole process group (the worker and any tool it left behind); waits for the worker. */
  async killGroup(): Promise<void> {
    const pid = this.child.pid;
    if (pid !== undefined) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    }
    await this.exited;
  }
}

/** A PostgreSQL database on the machine's server that one test owns. */
export class PgDatabase {
  readonly name: string;
  readonly url: string;

  private constructor(prefix: string) {
    this.name = uniqueName(prefix).replace(/-/g, '_');
    this.url = `postgres://root@127.0.0.1:5432/${this.name}`;
  }

  /** Creates an empty database named `<prefix>_<random>`. */
  static async create(prefix: string): Promise<PgDatabase> {
    const db = new PgDatabase(prefix);
    await withPg(SERVERS.postgres, (c) => c.query(`CREATE DATABASE ${db.name}`));
    return db;
  }

  /** Runs SQL in the database. */
  async query<R = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
    return withPg(this.url, async (c) => (await c.query(sql, params)).rows as R[]);
  }

  /**
   * Adds `megabytes` rows of 1 MiB random bytes (stored uncompressed): its custom-format dump is about that
   * size too, so dumping and uploading it take a measurable time.
   */
  async fillIncompressible(megabytes: number): Promise<void> {
    await withPg(this.url, async (c) => {
      await c.query('CREATE TABLE blobs (id int PRIMARY KEY, payload bytea NOT NULL)');
      await c.query('ALTER TABLE blobs ALTER COLUMN payload SET STORAGE EXTERNAL');
      for (let i = 1; i <= megabytes; i++) {
        await c.query('INSERT INTO blobs VALUES ($1, $2)', [i, randomBytes(1024 * 1024)]);
      }
    });
  }

  /** Drops the database, ending any session still on it. */
  async drop(): Promise<void> {
    await withPg(SERVERS.postgres, (c) => c.query(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`));
  }
}

/** True when a database of that name exists on the machine's PostgreSQL. */
export async function pgDatabaseExists(name: string): Promise<boolean> {
  const rows = await withPg(SERVERS.postgres, (c) => c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]));
  return rows.rowCount === 1;
}

/** An object as a listing shows it. */
export interface ListedObject {
  key: string;
  size: number;
}

/** Every object under `prefix` (all pages). */
export async function listObjects(s3: S3Client, bucket: string, prefix: string): Promise<ListedObject[]> {
  const objects: ListedObject[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) objects.push({ key: o.Key ?? '', size: o.Size ?? -1 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

/**
 * Lists `prefix` over and over until stopped, keeping every listing that succeeded (listings that fail while
 * the server is down are skipped): what an observer of the bucket could have seen at any moment of a run.
 */
export function watchPrefix(s3: S3Client, bucket: string, prefix: string): { stop: () => Promise<ListedObject[][]> } {
  const seen: ListedObject[][] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const listing = await listObjects(s3, bucket, prefix).catch(() => undefined);
      // Back to back: each listing is itself the wait (a refused one is slowed by the S3 client's retries).
      if (listing) seen.push(listing);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return seen;
    },
  };
}

export { mailpit } from './mailpit';

/** The recorded start of an activity: its attempt (the last one; earlier ones leave no event) and why the one before failed. */
export interface ActivityStart {
  attempt: number;
  lastFailure?: temporal.api.failure.v1.IFailure | null;
}

/** The starts of every activity of `activityType` in a workflow's history. */
export async function activityStarts(
  handle: { fetchHistory: () => Promise<temporal.api.history.v1.IHistory> },
  activityType: string,
): Promise<ActivityStart[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType)
      .map((e) => String(e.eventId)),
  );
  return events
    .map((e) => e.activityTaskStartedEventAttributes)
    .filter((a): a is temporal.api.history.v1.IActivityTaskStartedEventAttributes => !!a)
    .filter((a) => scheduled.has(String(a.scheduledEventId)))
    .map((a) => ({ attempt: a.attempt ?? 1, lastFailure: a.lastFailure }));
}
