/**
 * `npm run stack` / `stack:stop` / `stack:status`: the local stack — Temporal dev server with Web UI,
 * MinIO with the default bucket, Mailpit (SMTP catcher with a web UI), the machine's PostgreSQL / MariaDB /
 * Redis, and one background worker.
 * `start` is idempotent: a second run finds everything up and changes nothing.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { DbopsError } from '../../common/errors';
import { type DbopsConfig, loadConfig } from '../../config/load';
import { connectClient } from '../cli/temporal-client';
import { createHelloAgentsDb } from '../sample/helloagents';
import { type ApplyOutcome, applyNightlySchedule } from '../schedules/nightly';
import { LOCAL_DEMO_SQLITE, LOCAL_MAILPIT, LOCAL_MINIO } from '../../config/defaults';
import { databaseStatus, ensureDatabases, type DatabaseState } from './databases';
import { MAILPIT, startMailpit } from './mailpit-server';
import { ensureDefaultBucket, startMinio } from './minio-server';
import { PATHS } from './paths';
import { logFile, portOpen, runningPid, stopProcess } from './processes';
import { ensureSearchAttributes, startTemporal, TEMPORAL } from './temporal-server';
import { ensureWorker, stopWorker } from './worker-process';

const json = process.argv.includes('--json');
const say = (line: string): void => {
  (json ? process.stderr : process.stdout).write(`${line}\n`);
};
const rel = (path: string): string => relative(process.cwd(), path) || '.';

async function start(): Promise<number> {
  const config = loadConfig();
  const databases = await ensureDatabases();
  const temporal = await startTemporal(say);
  const addedAttributes = await ensureSearchAttributes();
  const minio = await startMinio(say);
  const bucketCreated = await ensureDefaultBucket(config);
  const mailpit = await startMailpit(say);
  const worker = await ensureWorker(config);
  const demo = ensureDemoSqlite();
  const schedule = await applyLocalSchedule(config);

  const changes = [
    ...(temporal.started ? ['started Temporal'] : []),
    ...(addedAttributes.length > 0 ? [`registered search attributes ${addedAttributes.join(', ')}`] : []),
    ...(minio.started ? [minio.restarted ? 'restarted MinIO with its KMS key' : 'started MinIO'] : []),
    ...(bucketCreated ? [`created bucket ${config.s3.bucket}`] : []),
    ...(mailpit.started ? ['started Mailpit'] : []),
    ...databases.filter((d) => d.started).map((d) => `started ${d.name}`),
    ...(worker.action === 'kept' ? [] : [`${worker.action} the worker`]),
    ...(demo.created ? [`created the demo SQLite ${rel(demo.path)}`] : []),
    ...(schedule.action === 'unchanged' ? [] : [`${schedule.action} Schedule ${schedule.scheduleId}`]),
  ];
  const summary = {
    changes,
    temporal: {
      address: `${TEMPORAL.host}:${TEMPORAL.port}`,
      ui: `http://${TEMPORAL.host}:${TEMPORAL.uiPort}`,
      pid: temporal.pid,
      log: logFile('temporal'),
    },
    minio: {
      endpoint: LOCAL_MINIO.endpoint,
      console: `http://${LOCAL_MINIO.consoleAddress}`,
      bucket: config.s3.bucket,
      pid: minio.pid,
      log: logFile('minio'),
    },
    mailpit: { smtp: MAILPIT.smtp, ui: MAILPIT.ui, pid: mailpit.pid, log: logFile('mailpit') },
    worker: { taskQueue: config.temporal.taskQueue, pid: worker.pid, log: logFile('worker') },
    databases,
  };
  if (json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    say(changes.length > 0 ? `dbops stack: ${changes.join('; ')}` : 'dbops stack: already running, nothing changed');
    say(
      `  Temporal   ${summary.temporal.address}  (pid ${temporal.pid ?? 'external'}, log ${rel(summary.temporal.log)})`,
    );
    say(`  Web UI     ${summary.temporal.ui}`);
    say(
      `  MinIO      ${summary.minio.endpoint}  console ${summary.minio.console}  bucket ${summary.minio.bucket}  (log ${rel(summary.minio.log)})`,
    );
    say(`  Mailpit    SMTP ${summary.mailpit.smtp}  UI ${summary.mailpit.ui}  (log ${rel(summary.mailpit.log)})`);
    say(`  worker     task queue ${summary.worker.taskQueue}  (pid ${worker.pid}, log ${rel(summary.worker.log)})`);
    say(
      `  schedule   ${schedule.scheduleId}: daily at ${schedule.at} ${schedule.timeZone}${schedule.paused ? ' (paused)' : ''}  ${summary.temporal.ui}/namespaces/${TEMPORAL.namespace}/schedules`,
    );
    printDatabases(databases);
    say(`  state      ${rel(PATHS.state)} (delete it after \`npm run stack:stop\` to start from scratch)`);
  }
  return reportMissing(databases);
}

/** The demo SQLite file the local nightly Schedule backs up (HelloAgents sample, 500 users), made once. */
function ensureDemoSqlite(): { path: string; created: boolean } {
  const path = resolve(LOCAL_DEMO_SQLITE);
  if (existsSync(path)) return { path, created: false };
  mkdirSync(dirname(path), { recursive: true });
  createHelloAgentsDb(`${path}.tmp`, { users: 500 });
  renameSync(`${path}.tmp`, path);
  return { path, created: true };
}

/** Creates or updates the nightly backup Schedule config describes, so the Web UI's Schedules page shows it. */
async function applyLocalSchedule(config: DbopsConfig): Promise<ApplyOutcome> {
  const { client, close } = await connectClient(config);
  try {
    return await applyNightlySchedule(client, config);
  } finally {
    await close();
  }
}

async function stop(): Promise<number> {
  for (const [name, stopper] of [
    ['worker', stopWorker],
    ['mailpit', () => stopProcess('mailpit')],
    ['minio', () => stopProcess('minio')],
    ['temporal', () => stopProcess('temporal')],
  ] as const) {
    say(`${name}: ${(await stopper()) ? 'stopped' : 'was not running'}`);
  }
  say('PostgreSQL, MariaDB and Redis belong to the machine and are left running.');
  return 0;
}

async function status(): Promise<number> {
  const component = async (name: string, host: string, port: number) => ({
    pid: runningPid(name) ?? null,
    listening: await portOpen(host, port),
    log: logFile(name),
  });
  const summary = {
    temporal: {
      address: `${TEMPORAL.host}:${TEMPORAL.port}`,
      ...(await component('temporal', TEMPORAL.host, TEMPORAL.port)),
    },
    ui: {
      url: `http://${TEMPORAL.host}:${TEMPORAL.uiPort}`,
      listening: await portOpen(TEMPORAL.host, TEMPORAL.uiPort),
    },
    minio: { endpoint: LOCAL_MINIO.endpoint, ...(await component('minio', '127.0.0.1', 9000)) },
    mailpit: {
      smtp: MAILPIT.smtp,
      ui: MAILPIT.ui,
      ...(await component('mailpit', LOCAL_MAILPIT.smtpHost, LOCAL_MAILPIT.smtpPort)),
      uiListening: await portOpen(LOCAL_MAILPIT.smtpHost, Number(new URL(LOCAL_MAILPIT.apiUrl).port)),
    },
    worker: { pid: runningPid('worker') ?? null, log: logFile('worker') },
    databases: await databaseStatus(),
  };
  if (json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    const mark = (ok: boolean): string => (ok ? 'up  ' : 'DOWN');
    say(
      `  ${mark(summary.temporal.listening)} Temporal  ${summary.temporal.address}  pid ${summary.temporal.pid ?? '-'}`,
    );
    say(`  ${mark(summary.ui.listening)} Web UI    ${summary.ui.url}`);
    say(`  ${mark(summary.minio.listening)} MinIO     ${summary.minio.endpoint}  pid ${summary.minio.pid ?? '-'}`);
    say(
      `  ${mark(summary.mailpit.listening && summary.mailpit.uiListening)} Mailpit   SMTP ${summary.mailpit.smtp}  UI ${summary.mailpit.ui}  pid ${summary.mailpit.pid ?? '-'}`,
    );
    say(
      `  ${mark(summary.worker.pid !== null)} worker    pid ${summary.worker.pid ?? '-'}  log ${rel(summary.worker.log)}`,
    );
    printDatabases(summary.databases);
  }
  const allUp =
    summary.temporal.listening &&
    summary.minio.listening &&
    summary.mailpit.listening &&
    summary.mailpit.uiListening &&
    summary.worker.pid !== null &&
    summary.databases.every((d) => d.up);
  return allUp ? 0 : 1;
}

function printDatabases(databases: DatabaseState[]): void {
  for (const db of databases) {
    say(`  ${db.up ? 'up  ' : 'DOWN'} ${db.name.padEnd(10)} ${db.address}${db.problem ? `  — ${db.problem}` : ''}`);
  }
}

function reportMissing(databases: DatabaseState[]): number {
  const missing = databases.filter((d) => !d.up);
  for (const db of missing) say(`missing: ${db.problem ?? `${db.name} is down`}`);
  return missing.length > 0 ? 1 : 0;
}

const commands: Record<string, () => Promise<number>> = { start, stop, status };
const command = commands[process.argv[2] ?? 'start'];
if (!command) {
  say(`usage: stack start|stop|status [--json]`);
  process.exit(2);
}
command().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(`dbops stack: ${err instanceof DbopsError ? err.message : ((err as Error).message ?? String(err))}`);
    process.exit(1);
  },
);
