/**
 * `npm run bench:backup -- --size-mb N[,M…]`: builds a PostgreSQL database of about N MB in the HelloAgents
 * shape (users, courses, progress, code_submissions, chat_messages), then times in the same run dbops'
 * `backupDatabase` (custom format, checksum, upload to MinIO, read-verify) on a worker of its own, against
 * raw `pg_dump -Fc` to a file alone. Prints the dump+checksum step and the whole backup as ratios to raw,
 * and the worker's peak RSS per size (flat when everything streams). A benchmark: it asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { BACKUP_DATABASE_WORKFLOW, type BackupDatabaseResult } from '../../common/contracts/backup';
import { loadConfig } from '../../config/load';
import { connectClient } from '../cli/temporal-client';
import { adminQuery, LOCAL_PG_ADMIN } from '../stack/local-postgres';
import { PATHS } from '../stack/paths';
import { startBenchWorker } from './bench-worker';

const arg = process.argv[process.argv.indexOf('--size-mb') + 1];
const sizes = (process.argv.includes('--size-mb') && arg ? arg : '100')
  .split(',')
  .map(Number)
  .filter((n) => Number.isFinite(n) && n > 0);
const dir = join(PATHS.state, 'bench-backup');

/** Creates (or reuses, when already about that size) database `bench_backup_<N>`. */
async function buildDatabase(mb: number): Promise<string> {
  const name = `bench_backup_${mb}`;
  const url = `postgres://root@127.0.0.1:5432/${name}`;
  const admin = new pg.Client(LOCAL_PG_ADMIN);
  await admin.connect();
  try {
    const { rows } = await admin.query<{ size: string }>(
      `SELECT pg_database_size(datname) AS size FROM pg_database WHERE datname = $1`,
      [name],
    );
    if (rows[0] && Number(rows[0].size) >= mb * 1024 * 1024 * 0.9) return url;
  } finally {
    await admin.end();
  }
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${name}`);
  const db = new pg.Client(url);
  await db.connect();
  try {
    await db.query(`
      CREATE TABLE users (id bigint PRIMARY KEY, username text NOT NULL, email text NOT NULL, profile jsonb, created_at timestamptz NOT NULL);
      CREATE TABLE courses (id int PRIMARY KEY, title text NOT NULL, chapters int NOT NULL);
      CREATE TABLE progress (user_id bigint NOT NULL, course_id int NOT NULL, percent numeric(5,2), updated_at timestamptz NOT NULL, PRIMARY KEY (user_id, course_id));
      CREATE TABLE code_submissions (id bigint PRIMARY KEY, user_id bigint NOT NULL, language text, code text, score int, submitted_at timestamptz NOT NULL);
      CREATE TABLE chat_messages (id bigint PRIMARY KEY, user_id bigint NOT NULL, role text NOT NULL, content text NOT NULL, created_at timestamptz NOT NULL);
      INSERT INTO courses SELECT g, 'Course ' || g, 10 + g % 7 FROM generate_series(1, 18) g;`);
    // ~1 kB per user across the tables; insert in batches until the database reaches the size.
    let next = 0;
    const batch = 20_000;
    for (;;) {
      const { rows } = await db.query<{ size: string }>('SELECT pg_database_size(current_database()) AS size');
      if (Number(rows[0]?.size) >= mb * 1024 * 1024) break;
      for (const sql of [
        `INSERT INTO users SELECT g, 'user_' || g, 'user_' || g || '@example.com', jsonb_build_object('level', g % 10, 'bio', md5(g::text) || md5((g * 7)::text)), now() - (g % 1000) * interval '1 hour' FROM generate_series($1::bigint, $2::bigint) g`,
        `INSERT INTO progress SELECT g, 1 + g % 18, (g % 10000) / 100.0, now() FROM generate_series($1::bigint, $2::bigint) g`,
        `INSERT INTO code_submissions SELECT g, g, (ARRAY['python','js','go'])[1 + g % 3], 'def solve(n):' || chr(10) || '    return ' || md5(g::text) || repeat(' + n', (1 + g % 20)::int), g % 100, now() FROM generate_series($1::bigint, $2::bigint) g`,
        `INSERT INTO chat_messages SELECT g * 2 + r, g, CASE r WHEN 0 THEN 'user' ELSE 'assistant' END, 'Message ' || md5((g * 2 + r)::text) || ' ' || repeat(md5(g::text), (1 + g % 8)::int), now() FROM generate_series($1::bigint, $2::bigint) g, generate_series(0, 1) r`,
      ])
        await db.query(sql, [next, next + batch - 1]);
      next += batch;
    }
    await db.query('ANALYZE');
  } finally {
    await db.end();
  }
  return url;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const { client, close } = await connectClient(config);
  mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  try {
    for (const mb of sizes) {
      const url = await buildDatabase(mb);
      const rawFile = join(dir, `raw-${mb}.dump`);
      const rawStart = performance.now();
      const raw = spawnSync('pg_dump', ['--format=custom', `--file=${rawFile}`, `--dbname=${url}`], {
        stdio: 'inherit',
      });
      const rawMs = performance.now() - rawStart;
      if (raw.status !== 0) throw new Error('raw pg_dump failed');
      const rawBytes = statSync(rawFile).size;
      rmSync(rawFile, { force: true });

      const artifacts = join(dir, `artifacts-${mb}`);
      rmSync(artifacts, { recursive: true, force: true });
      const worker = await startBenchWorker(client, config, { DBOPS_ARTIFACT_DIR: artifacts });
      let peak = 0;
      const byPhase: Record<string, number> = {};
      const started = performance.now();
      let result: BackupDatabaseResult;
      const handle = await client.workflow.start(BACKUP_DATABASE_WORKFLOW, {
        workflowId: `bench-backup-${mb}-${Date.now()}`,
        taskQueue: worker.taskQueue,
        args: [{ target: url, formats: ['custom'], verify: 'read', upload: true }],
      });
      // Resident memory sampled with the phase it was seen in, to tell which step needs the memory.
      let sampling: Promise<unknown> = Promise.resolve();
      const sampler = setInterval(() => {
        const rss = worker.rssMb();
        peak = Math.max(peak, rss);
        sampling = handle
          .query<{ phase: string }>('progress')
          .then(({ phase }) => (byPhase[phase] = Math.max(byPhase[phase] ?? 0, rss)))
          .catch(() => undefined);
      }, 200);
      try {
        result = (await handle.result()) as BackupDatabaseResult;
      } finally {
        clearInterval(sampler);
        await sampling;
        peak = Math.max(peak, worker.peakRssMb());
        await worker.stop();
      }
      const totalMs = performance.now() - started;
      const dumpMs = result.timings.dump ?? 0;
      lines.push(
        `size ${mb} MB (dump ${(rawBytes / 1048576).toFixed(1)} MB): raw pg_dump -Fc ${(rawMs / 1000).toFixed(2)} s · ` +
          `dbops dump+checksum ${(dumpMs / 1000).toFixed(2)} s (${(dumpMs / rawMs).toFixed(2)}× raw, target ≤ 1.15) · ` +
          `whole backup (dump, upload, manifest, read-verify) ${(totalMs / 1000).toFixed(2)} s (${(totalMs / rawMs).toFixed(2)}× raw, target ≤ 2) · ` +
          `steps ${Object.entries(result.timings)
            .map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`)
            .join(', ')} · worker peak RSS ${peak.toFixed(0)} MB (target ≤ 200; by phase ${Object.entries(byPhase)
            .map(([p, v]) => `${p} ${v.toFixed(0)}`)
            .join(', ')})`,
      );
      process.stdout.write(`${lines[lines.length - 1]}\n`);
      rmSync(artifacts, { recursive: true, force: true });
    }
  } finally {
    await close();
  }
  process.stdout.write(`\nbench:backup summary\n${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:backup failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
