/**
 * `npm run bench:assess`: times `assessPostgres` on a database of 1,000 tables and 10 M rows — four big
 * tables (2.251 M rows each, over the exact-count limit: estimates only) and 996 small ones (~1,000 rows each,
 * counted exactly) — against the 60 s target. The database `bench_assess` is built once (generate_series) and
 * reused while its marker comment matches; `--rebuild` forces a fresh one. A benchmark: it asserts nothing.
 */
import pg from 'pg';
import { assessPostgres } from '../../activities/postgres/assess';
import { ASSESSMENT_RULES } from '../../common/assessment/rules';
import type { Severity } from '../../common/contracts/assessment';
import { adminQuery, LOCAL_PG_ADMIN } from '../stack/local-postgres';

const NAME = 'bench_assess';
const URL = `postgres://root@127.0.0.1:5432/${NAME}`;
const BIG_TABLES = 4;
const BIG_ROWS = 2_251_000;
const SMALL_TABLES = 996;
const SMALL_ROWS = 1_000;
/** Changes whenever the shape above changes, so an older build is not reused. */
const MARKER = `dbops bench:assess v1: ${BIG_TABLES}x${BIG_ROWS} + ${SMALL_TABLES}x${SMALL_ROWS}`;
const TARGET_SECONDS = 60;
const RUNS = 2;

/** Whether `bench_assess` exists, complete (the marker is written last). */
async function existing(): Promise<boolean> {
  const admin = new pg.Client(LOCAL_PG_ADMIN);
  await admin.connect();
  try {
    const { rows } = await admin.query<{ comment: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
      [NAME],
    );
    return rows[0]?.comment === MARKER;
  } finally {
    await admin.end();
  }
}

/** Builds the database: big tables first (keys after the load, faster), then the small ones, then ANALYZE. */
async function build(): Promise<void> {
  await adminQuery(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${NAME}`);
  const db = new pg.Client(URL);
  await db.connect();
  try {
    await db.query('SET synchronous_commit = off');
    for (let b = 1; b <= BIG_TABLES; b += 1) {
      const started = performance.now();
      await db.query(
        `CREATE TABLE big_${b} (id bigint NOT NULL, account_id int NOT NULL, created_at timestamptz NOT NULL,
                                amount numeric(12, 2), note text)`,
      );
      await db.query(
        `INSERT INTO big_${b}
         SELECT g, (g % 50000)::int, timestamptz '2024-01-01' + g * interval '10 seconds',
                (g % 100000) / 100.0, CASE WHEN g % 10 = 0 THEN 'note ' || g END
           FROM generate_series(1, $1::bigint) g`,
        [BIG_ROWS],
      );
      await db.query(`ALTER TABLE big_${b} ADD PRIMARY KEY (id)`);
      await db.query(`CREATE INDEX big_${b}_created_at ON big_${b} (created_at)`);
      process.stdout.write(`  big_${b}: ${BIG_ROWS} rows in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    }
    const started = performance.now();
    // Some variety for the checks: every 50th table has no primary key, every 10th a secondary index.
    await db.query(`
      DO $$
      BEGIN
        FOR i IN 1..${SMALL_TABLES} LOOP
          EXECUTE format('CREATE TABLE %I (id int %s, name text NOT NULL, v int)',
                         'small_' || lpad(i::text, 4, '0'), CASE WHEN i % 50 = 0 THEN '' ELSE 'PRIMARY KEY' END);
          EXECUTE format('INSERT INTO %I SELECT g, ''name '' || g, g %% 97 FROM generate_series(1, ${SMALL_ROWS}) g',
                         'small_' || lpad(i::text, 4, '0'));
          IF i % 10 = 0 THEN
            EXECUTE format('CREATE INDEX ON %I (v)', 'small_' || lpad(i::text, 4, '0'));
          END IF;
        END LOOP;
      END $$`);
    process.stdout.write(`  ${SMALL_TABLES} small tables in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    await db.query('ANALYZE');
  } finally {
    await db.end();
  }
  await adminQuery(`COMMENT ON DATABASE ${NAME} IS '${MARKER}'`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--rebuild') || !(await existing())) {
    process.stdout.write(`building ${NAME} (${MARKER}) …\n`);
    const started = performance.now();
    await build();
    process.stdout.write(`built in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  } else {
    process.stdout.write(`reusing ${NAME} (${MARKER})\n`);
  }
  const lines: string[] = [];
  for (let run = 1; run <= RUNS; run += 1) {
    const started = performance.now();
    const result = await assessPostgres({ url: URL, label: NAME }, NAME, ASSESSMENT_RULES);
    const seconds = (performance.now() - started) / 1000;
    const bySeverity: Partial<Record<Severity, number>> = {};
    for (const f of result.findings) bySeverity[f.severity] = (bySeverity[f.severity] ?? 0) + 1;
    const tables = result.volume?.tables ?? [];
    const rows = tables.reduce((a, t) => a + t.rows, 0);
    lines.push(
      `run ${run}: ${seconds.toFixed(2)} s (target ≤ ${TARGET_SECONDS} s, ${((100 * seconds) / TARGET_SECONDS).toFixed(1)} % of it)` +
        ` · ${tables.length} tables, ${tables.filter((t) => t.rowsExact).length} counted exactly, ~${rows} rows,` +
        ` ${((result.volume?.totalBytes ?? 0) / 1024 / 1024).toFixed(0)} MB · findings ${Object.entries(bySeverity)
          .map(([s, n]) => `${s} ${n}`)
          .join(', ')} (${result.findings
          .filter((f) => f.severity !== 'ok')
          .map((f) => `${f.id} ${f.severity}`)
          .join(', ')})`,
    );
    process.stdout.write(`${lines[lines.length - 1]}\n`);
  }
  process.stdout.write(`\nbench:assess summary\n${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:assess failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
