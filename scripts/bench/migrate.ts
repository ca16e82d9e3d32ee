/**
 * `npm run bench:migrate -- --users N`: migrates a generated HelloAgents database (~37·N rows) with dbops and,
 * in the same run on the same data, with two baselines — pgloader (Debian package; the expression index
 * is dropped from its copy, it crashes on those) and the raw bound (parallel COPY of pre-made text into
 * bare tables, then the same keys, indexes and constraints, all taken from what dbops produced). Prints wall times, rows/s, MB/s, the worker's peak RSS and
 * the ratios. A benchmark, not a test: it asserts nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { qualified } from '../../activities/postgres/identifiers';
import { loadConfig } from '../../config/load';
import { MIGRATION_WORKFLOW, type MigrationResult } from '../../common/contracts/migration';
import { connectClient } from '../cli/temporal-client';
import { createHelloAgentsDb } from '../sample/helloagents';
import { freshDatabase } from '../stack/local-postgres';
import { PATHS } from '../stack/paths';
import { startBenchWorker } from './bench-worker';

const users = Number(process.argv[process.argv.indexOf('--users') + 1] ?? 5000) || 5000;
const dir = join(PATHS.state, 'bench');

async function timed<T>(body: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await body();
  return { ms: performance.now() - started, value };
}

/** dbops on its own worker process (so its peak RSS is the worker's alone). */
async function runDbops(source: string): Promise<{ ms: number; rssMb: number; result: MigrationResult; url: string }> {
  const url = await freshDatabase('bench_dbops');
  const config = loadConfig();
  const { client, close } = await connectClient(config);
  const worker = await startBenchWorker(client, config, { DBOPS_ARTIFACT_DIR: join(dir, 'artifacts') });
  const taskQueue = worker.taskQueue;
  try {
    const rssByPhase: Record<string, number> = {};
    const { ms, value } = await timed(async () => {
      const handle = await client.workflow.start(MIGRATION_WORKFLOW, {
        workflowId: `bench-migrate-${users}-${Date.now()}`,
        taskQueue,
        args: [{ source, target: url, schema: 'public', rollbackWindowMinutes: 0 }],
      });
      // Resident memory sampled with the phase it was seen in, to tell which step needs the memory.
      const inFlight = new Set<Promise<unknown>>();
      const sampler = setInterval(() => {
        if (inFlight.size > 0) return;
        const rss = worker.rssMb();
        const sample = handle
          .query<{ phase: string }>('progress')
          .then(({ phase }) => (rssByPhase[phase] = Math.max(rssByPhase[phase] ?? 0, rss)))
          .catch(() => undefined)
          .finally(() => inFlight.delete(sample));
        inFlight.add(sample);
      }, 250);
      try {
        return (await handle.result()) as MigrationResult;
      } finally {
        clearInterval(sampler);
        await Promise.all(inFlight); // the client is closed next: no query may still be retrying
      }
    });
    process.stdout.write(
      `dbops worker RSS by phase (MB, sampled): ${Object.entries(rssByPhase)
        .map(([phase, mb]) => `${phase} ${mb.toFixed(0)}`)
        .join(', ')}\n`,
    );
    const rssMb = worker.peakRssMb();
    return { ms, rssMb, result: value, url };
  } finally {
    await close();
    await worker.stop();
  }
}

/** pgloader 3.6.9 on a copy without the expression index. */
async function runPgloader(source: string): Promise<number | null> {
  if (spawnSync('pgloader', ['--version']).status !== 0) {
    process.stderr.write('pgloader not found (apt-get install pgloader): skipping that baseline\n');
    return null;
  }
  const copy = join(dir, 'pgloader-source.db');
  rmSync(copy, { force: true });
  const db = new Database(source, { readonly: true });
  await db.backup(copy);
  db.close();
  const writable = new Database(copy);
  writable.exec('DROP INDEX IF EXISTS users_email_lower');
  writable.close();
  const url = await freshDatabase('bench_pgloader');
  const load = join(dir, 'bench.load');
  writeFileSync(
    load,
    `LOAD DATABASE FROM sqlite://${copy} INTO ${url} WITH include drop, create tables, create indexes, reset sequences;\n`,
  );
  const { ms } = await timed(async () => {
    const child = spawn('pgloader', ['--quiet', load], { stdio: ['ignore', 'ignore', 'inherit'] });
    const [code] = (await once(child, 'exit')) as [number];
    if (code !== 0) throw new Error(`pgloader exited ${code}`);
  });
  return ms;
}

/** Runs a PostgreSQL client tool to completion; its stderr goes to ours. */
async function tool(command: string, args: string[]): Promise<void> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}`);
}

/**
 * The raw bound, made from what dbops produced so that it shares no code with dbops: the migrated tables'
 * rows as COPY text and their schema (pg_dump), prepared untimed; then, timed, a parallel COPY of that text
 * into bare tables and pg_restore's post-data section (the same keys, indexes, constraints and triggers).
 */
async function runRaw(migratedUrl: string): Promise<number> {
  const schemaDump = join(dir, 'raw-schema.dump');
  await tool('pg_dump', ['--format=custom', '--schema-only', '--schema=public', `--file=${schemaDump}`, migratedUrl]);
  const source = new pg.Client(migratedUrl);
  await source.connect();
  const files = new Map<string, string>();
  try {
    const { rows } = await source.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    );
    for (const { name } of rows) {
      const path = join(dir, `raw-${name}.copy`);
      await pipeline(source.query(copyTo(`COPY ${qualified('public', name)} TO STDOUT`)), createWriteStream(path));
      files.set(name, path);
    }
  } finally {
    await source.end();
  }
  const url = await freshDatabase('bench_raw');
  // The fresh database has its own public schema: restore only what is inside it.
  await tool('pg_restore', [
    '--section=pre-data',
    '--no-owner',
    `--dbname=${url}`,
    '--exit-on-error',
    '--use-list',
    await listWithoutSchema(schemaDump),
    schemaDump,
  ]);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  try {
    const { ms } = await timed(async () => {
      await Promise.all(
        [...files].map(async ([name, path]) => {
          const client = await pool.connect();
          try {
            await pipeline(
              createReadStream(path),
              client.query(copyFrom(`COPY ${qualified('public', name)} FROM STDIN`)),
            );
          } finally {
            client.release();
          }
        }),
      );
      await tool('pg_restore', [
        '--section=post-data',
        '--no-owner',
        '--jobs=4',
        `--dbname=${url}`,
        '--exit-on-error',
        schemaDump,
      ]);
    });
    return ms;
  } finally {
    await pool.end();
  }
}

/** pg_restore's table of contents of `dump` without the CREATE SCHEMA entry; returns the list file. */
async function listWithoutSchema(dump: string): Promise<string> {
  const list = spawnSync('pg_restore', ['--list', dump], { encoding: 'utf8' });
  if (list.status !== 0) throw new Error(`pg_restore --list ${dump}: ${list.stderr}`);
  const path = `${dump}.list`;
  writeFileSync(
    path,
    list.stdout
      .split('\n')
      .filter((line) => !/ SCHEMA - public /.test(line))
      .join('\n'),
  );
  return path;
}

async function main(): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const source = join(dir, `helloagents-${users}.db`);
  if (!existsSync(source)) createHelloAgentsDb(source, { users });
  const rows = 37 * users;
  const mb = statSync(source).size / 1024 / 1024;
  process.stdout.write(`source ${source}: ~${rows} rows, ${mb.toFixed(1)} MB\n`);

  const dbops = await runDbops(source);
  if (dbops.result.status !== 'completed' || !dbops.result.tables.every((t) => t.match))
    throw new Error('dbops run did not verify');
  const pgloaderMs = await runPgloader(source);
  const rawMs = await runRaw(dbops.url);

  const line = (name: string, ms: number | null): string =>
    ms === null
      ? `  ${name.padEnd(22)} skipped`
      : `  ${name.padEnd(22)} ${(ms / 1000).toFixed(2).padStart(8)} s  ${Math.round(rows / (ms / 1000))
          .toString()
          .padStart(9)} rows/s  ${(mb / (ms / 1000)).toFixed(1).padStart(7)} MB/s`;
  process.stdout.write(`\nwall time (N = ${users} users)\n`);
  process.stdout.write(
    `${line('dbops (incl. verify)', dbops.ms)}\n${line('pgloader 3.6.9', pgloaderMs)}\n${line('raw COPY + indexes', rawMs)}\n`,
  );
  process.stdout.write(
    `\ndbops steps (ms): ${Object.entries(dbops.result.timingsMs)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}\n`,
  );
  process.stdout.write(`dbops worker peak RSS: ${dbops.rssMb.toFixed(0)} MB (target ≤ 300 MB)\n`);
  if (pgloaderMs !== null)
    process.stdout.write(`ratio dbops / pgloader: ${(dbops.ms / pgloaderMs).toFixed(2)} (target ≤ 0.5)\n`);
  process.stdout.write(`ratio dbops / raw bound: ${(dbops.ms / rawMs).toFixed(2)} (target ≤ 1.5)\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:migrate: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
