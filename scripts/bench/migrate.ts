/**
 * `npm run bench:migrate -- --users N [--skip-pgloader] [--skip-raw] [--concurrency N] [--workers N]`: migrates a generated HelloAgents
 * database (~37·N rows) with dbops and, in the same run on the same data, with two baselines — pgloader
 * (Debian package; the expression index is dropped from its copy, it crashes on those) and the raw bound
 * (parallel COPY of pre-made text into bare tables, then the same keys, indexes and constraints, all taken
 * from what dbops produced). Prints wall times, rows/s, MB/s, each dbops step's share of its wall time, the
 * CPU each run cost by process (node worker, PostgreSQL, Temporal, pgloader…, read from /proc), the
 * worker's peak RSS and the ratios the migration targets are set on; then one `BENCH_JSON {…}` line with
 * all of it. A benchmark, not a test: it asserts nothing.
 *
 * `--workers N` (N > 1) runs dbops twice, on one worker process and then on N (each with its own host id,
 * artifact folder and source cache, as on N machines: the source host stages its backup in MinIO, the others
 * fetch it), and prints both wall times and which worker imported how many chunks; the other figures are
 * those of the N-worker run.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import { qualified } from '../../activities/postgres/identifiers';
import { loadConfig } from '../../config/load';
import { MIGRATION_WORKFLOW, type MigrationResult } from '../../common/contracts/migration';
import { connectClient } from '../cli/temporal-client';
import { createHelloAgentsDb } from '../sample/helloagents';
import { freshDatabase } from '../stack/local-postgres';
import { PATHS } from '../stack/paths';
import { startBenchWorker } from './bench-worker';

const argv = process.argv.slice(2);
const usersArg = argv.includes('--users') ? Number(argv[argv.indexOf('--users') + 1]) : NaN;
const users = Number.isInteger(usersArg) && usersArg > 0 ? usersArg : 5000;
const skipPgloader = argv.includes('--skip-pgloader');
const skipRaw = argv.includes('--skip-raw');
/** `--concurrency N`: the workflow's import lanes (default: the workflow's own choice for this host). */
const concurrencyArg = argv.includes('--concurrency') ? Number(argv[argv.indexOf('--concurrency') + 1]) : NaN;
const concurrency = Number.isInteger(concurrencyArg) && concurrencyArg > 0 ? concurrencyArg : undefined;
/** `--workers N`: worker processes of the scale-out run (default 1: no scale-out run). */
const workersArg = argv.includes('--workers') ? Number(argv[argv.indexOf('--workers') + 1]) : NaN;
const workerCount = Number.isInteger(workersArg) && workersArg > 0 ? workersArg : 1;
const dir = join(PATHS.state, 'bench');

/** /proc's clock ticks per second (USER_HZ: 100 on Linux, unless getconf says otherwise). */
const TICKS_PER_S = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/**
 * A process's CPU seconds from /proc/<pid>/stat: its own, all threads (utime + stime, fields 14-15), and
 * that of the children it has reaped (cutime + cstime, fields 16-17). Null once it is gone.
 */
function procCpu(pid: number | 'self'): { own: number; reaped: number } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Field 2, the name, is in parentheses and may hold spaces: fields are counted from after its end.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const field = (n: number): number => Number(fields[n - 3] ?? 0);
  return { own: (field(14) + field(15)) / TICKS_PER_S, reaped: (field(16) + field(17)) / TICKS_PER_S };
}

/** The server a process belongs to: PostgreSQL's keep comm `postgres` (their titles only rewrite cmdline). */
function serverOf(pid: string): 'postgres' | 'temporal' | null {
  try {
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    if (comm === 'postgres' || comm === 'temporal') return comm;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('postgres:') ? 'postgres' : null;
  } catch {
    return null; // exited while we looked
  }
}

/**
 * CPU seconds used so far by all processes of each server on this host, each counted with its reaped
 * children. A backend that exits between two calls has its time moved into the postmaster's children time
 * (the postmaster reaps it), so the difference of two calls is exact: no sampling in between is needed.
 */
function serversCpu(): { postgres: number; temporal: number } {
  const total = { postgres: 0, temporal: 0 };
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const server = serverOf(pid);
    const cpu = server && procCpu(Number(pid));
    if (server && cpu) total[server] += cpu.own + cpu.reaped;
  }
  return total;
}

/** CPU seconds used so far, by process group. */
interface CpuUsed {
  /** The dbops worker processes (when there are some), with any children they reaped. */
  worker: number;
  /** This process: the Temporal client, the raw bound's COPY streams. */
  bench: number;
  /** Tools this process ran and reaped: pgloader, pg_restore. */
  tools: number;
  postgres: number;
  temporal: number;
}

function cpuUsed(workerPids: number[] = []): CpuUsed {
  const worker = workerPids.reduce((sum, pid) => {
    const cpu = procCpu(pid);
    return sum + (cpu ? cpu.own + cpu.reaped : 0);
  }, 0);
  const { user, system } = process.cpuUsage();
  return {
    worker,
    bench: (user + system) / 1e6,
    tools: procCpu('self')?.reaped ?? 0,
    ...serversCpu(),
  };
}

/** Runs `body`: its wall time and the CPU each process group used meanwhile. */
async function measured<T>(
  body: () => Promise<T>,
  workerPids?: number[],
): Promise<{ ms: number; cpu: CpuUsed; value: T }> {
  const before = cpuUsed(workerPids);
  const started = performance.now();
  const value = await body();
  const ms = performance.now() - started;
  const after = cpuUsed(workerPids);
  const delta = (key: keyof CpuUsed): number => Math.max(0, after[key] - before[key]);
  const cpu = {
    worker: delta('worker'),
    bench: delta('bench'),
    tools: delta('tools'),
    postgres: delta('postgres'),
    temporal: delta('temporal'),
  };
  return { ms, cpu, value };
}

/** Who used CPU in a run, as printed; the keys are BENCH_JSON's. */
const CPU_LABELS = {
  worker: 'dbops worker(s) (node)',
  bench: 'bench process (node)',
  pgloader: 'pgloader',
  pgRestore: 'pg_restore --jobs=4',
  postgres: 'PostgreSQL (all processes)',
  temporal: 'Temporal server',
} as const;

/** CPU seconds of one run by who used them, in print order. */
type CpuSplit = Partial<Record<keyof typeof CPU_LABELS, number>>;

/** A run's wall time and CPU split. */
interface RunStats {
  ms: number;
  cpu: CpuSplit;
}

/** The dbops run: also its worker's peak RSS, the workflow's result and the database it migrated into. */
interface DbopsRun extends RunStats {
  rssMb: number;
  idleRssMb: number;
  result: MigrationResult;
  url: string;
  workers: number;
  /** Import chunks completed per worker identity (`<pid>@<host id>`), from the history. */
  chunksByWorker: Record<string, number>;
}

/** The environment of bench worker `i` (1-based): its own host id, artifact folder and source cache. */
function benchWorkerEnv(i: number, workers: number): Record<string, string> {
  if (workers === 1) return { DBOPS_ARTIFACT_DIR: join(dir, 'artifacts') };
  return {
    DBOPS_WORKER_HOST: `bench-${i}`,
    DBOPS_ARTIFACT_DIR: join(dir, `artifacts-bench-${i}`),
    DBOPS_WORKER_CACHE_DIR: join(dir, `cache-bench-${i}`),
  };
}

/** Starts worker processes 2…N on the first one's task queue; resolves once all N poll for activities. */
async function startMoreWorkers(client: Client, namespace: string, taskQueue: string, workers: number) {
  const more: ChildProcess[] = [];
  for (let i = 2; i <= workers; i++) {
    more.push(
      spawn(process.execPath, [...PATHS.workerNodeFlags, PATHS.workerEntry], {
        env: {
          ...process.env,
          DBOPS_LOG_LEVEL: 'WARN',
          ...PATHS.workerEnv,
          ...benchWorkerEnv(i, workers),
          DBOPS_TASK_QUEUE: taskQueue,
        },
        stdio: 'inherit',
      }),
    );
  }
  for (let tries = 0; ; tries++) {
    const { pollers } = await client.connection.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    if (new Set((pollers ?? []).map((p) => p.identity)).size >= workers) break;
    if (tries > 600) throw new Error(`${workers} bench workers did not all start`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return more;
}

/** Import chunks completed per worker identity (ActivityTaskStarted carries who ran the attempt). */
async function chunksByWorker(
  handle: Awaited<ReturnType<Client['workflow']['start']>>,
): Promise<Record<string, number>> {
  const events = (await handle.fetchHistory()).events ?? [];
  const chunk = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'migrationImportChunk')
      .map((e) => String(e.eventId)),
  );
  const identity = new Map(
    events.map((e) => [String(e.eventId), e.activityTaskStartedEventAttributes?.identity ?? undefined]),
  );
  const by: Record<string, number> = {};
  for (const e of events) {
    const done = e.activityTaskCompletedEventAttributes;
    if (!done || !chunk.has(String(done.scheduledEventId))) continue;
    const who = identity.get(String(done.startedEventId)) ?? '?';
    by[who] = (by[who] ?? 0) + 1;
  }
  return by;
}

/** dbops on worker processes of its own (so the peak RSS is theirs alone); `workers` > 1 for scale-out. */
async function runDbops(source: string, workers: number): Promise<DbopsRun> {
  const url = await freshDatabase('bench_dbops');
  // Cold caches: a worker's fetch of the staged source is part of the timed run.
  for (let i = 1; i <= workers; i++) rmSync(join(dir, `cache-bench-${i}`), { recursive: true, force: true });
  const config = loadConfig();
  const { client, close } = await connectClient(config);
  const worker = await startBenchWorker(client, config, benchWorkerEnv(1, workers));
  const taskQueue = worker.taskQueue;
  // The floor: a worker polling with nothing to do (the Temporal core, V8 and the node binary's own pages).
  const idleRssMb = worker.rssMb();
  let more: ChildProcess[] = [];
  let chunks: Record<string, number> = {};
  try {
    more = await startMoreWorkers(client, config.temporal.namespace, taskQueue, workers);
    const pids = [worker.process.pid, ...more.map((m) => m.pid)].filter((pid): pid is number => pid !== undefined);
    const rssByPhase: Record<string, number> = {};
    const { ms, cpu, value } = await measured(async () => {
      const handle = await client.workflow.start(MIGRATION_WORKFLOW, {
        workflowId: `bench-migrate-${users}-${Date.now()}`,
        taskQueue,
        args: [{ source, target: url, schema: 'public', rollbackWindowMinutes: 0, concurrency }],
      });
      // Resident memory sampled with the phase it was seen in, to tell which step needs the memory; once a
      // second, since each sample is a query the worker and the server answer (the peak is VmHWM anyway).
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
      }, 1000);
      try {
        const result = (await handle.result()) as MigrationResult;
        chunks = await chunksByWorker(handle);
        return result;
      } finally {
        clearInterval(sampler);
        await Promise.all(inFlight); // the client is closed next: no query may still be retrying
      }
    }, pids);
    process.stdout.write(
      `dbops worker RSS idle ${idleRssMb.toFixed(0)} MB; by phase (MB, sampled): ${Object.entries(rssByPhase)
        .map(([phase, mb]) => `${phase} ${mb.toFixed(0)}`)
        .join(', ')}\n`,
    );
    const rssMb = worker.peakRssMb();
    return {
      ms,
      cpu: { worker: cpu.worker, postgres: cpu.postgres, temporal: cpu.temporal, bench: cpu.bench },
      rssMb,
      idleRssMb,
      result: value,
      url,
      workers,
      chunksByWorker: chunks,
    };
  } finally {
    await close();
    await Promise.all(
      more.map(async (child) => {
        child.kill('SIGTERM');
        if (child.exitCode === null) await once(child, 'exit');
      }),
    );
    await worker.stop();
  }
}

/** pgloader 3.6.9 on a copy without the expression index. */
async function runPgloader(source: string): Promise<RunStats | null> {
  if (spawnSync('pgloader', ['--version']).status !== 0) {
    process.stderr.write('pgloader not found: skipping that baseline (install it with `apt-get install pgloader`)\n');
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
  // pgloader is reaped by the time 'exit' fires: its CPU, children included, is in our children time.
  const { ms, cpu } = await measured(async () => {
    const child = spawn('pgloader', ['--quiet', load], { stdio: ['ignore', 'ignore', 'inherit'] });
    const [code] = (await once(child, 'exit')) as [number];
    if (code !== 0) throw new Error(`pgloader exited ${code}`);
  });
  return { ms, cpu: { pgloader: cpu.tools, postgres: cpu.postgres } };
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
async function runRaw(migratedUrl: string): Promise<RunStats> {
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
    const { ms, cpu } = await measured(async () => {
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
    return { ms, cpu: { bench: cpu.bench, pgRestore: cpu.tools, postgres: cpu.postgres } };
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

const out = (text: string): void => void process.stdout.write(text);
const secs = (ms: number): string => (ms / 1000).toFixed(2);
/** Rounds for BENCH_JSON (plain numbers, not strings). */
const round = (n: number, digits: number): number => Number(n.toFixed(digits));

/** Wall time, rows/s and MB/s of one run. */
function wallLine(name: string, run: RunStats | null, rows: number, mb: number): string {
  if (!run) return `  ${name.padEnd(22)} skipped`;
  const s = run.ms / 1000;
  return `  ${name.padEnd(22)} ${s.toFixed(2).padStart(8)} s  ${Math.round(rows / s)
    .toString()
    .padStart(9)} rows/s  ${(mb / s).toFixed(1).padStart(7)} MB/s`;
}

/**
 * Each dbops step's time and its share of the run's wall time. Steps may overlap (a per-table pipeline runs
 * import, index and verify of different tables at once), so the shares need not add up to 100 %.
 */
function printSteps(timingsMs: Record<string, number>, wallMs: number): void {
  const row = (name: string, ms: number): string =>
    `  ${name.padEnd(14)} ${secs(ms).padStart(8)} s  ${((100 * ms) / wallMs).toFixed(1).padStart(6)} %\n`;
  out(`\ndbops time in step (steps may overlap), % of its ${secs(wallMs)} s wall time\n`);
  // `<step>_work` (activity time summed over a step's parallel activities) and `import_index` (import start to
  // the last index built) describe steps already listed: shown, not summed.
  const derived = (step: string) => step.endsWith('_work') || step === 'import_index' || step === 'stage_source';
  for (const [step, ms] of Object.entries(timingsMs)) out(row(derived(step) ? `  ${step}` : step, ms));
  const sum = Object.entries(timingsMs).reduce((a, [step, ms]) => (derived(step) ? a : a + ms), 0);
  out(row('sum of steps', sum));
}

/** One worker against N: wall time, import span, staging time, and who imported how many chunks. */
function printScaleOut(single: DbopsRun, multi: DbopsRun): void {
  out(`\nscale-out: 1 worker process vs ${multi.workers} (${availableParallelism()} cores here)\n`);
  const row = (name: string, one: number | undefined, many: number | undefined): string =>
    `  ${name.padEnd(24)} ${(one === undefined ? '-' : secs(one)).padStart(8)} s  ${(many === undefined ? '-' : secs(many)).padStart(8)} s\n`;
  out(`  ${''.padEnd(24)} ${'1 worker'.padStart(10)}  ${`${multi.workers} workers`.padStart(10)}\n`);
  out(row('wall', single.ms, multi.ms));
  for (const step of ['import', 'verify', 'stage_source'])
    out(row(step, single.result.timingsMs[step], multi.result.timingsMs[step]));
  out(`  speedup ${(single.ms / multi.ms).toFixed(2)}× (wall, 1 worker / ${multi.workers})\n`);
  out(`  import chunks by worker (identity = pid@host id):\n`);
  for (const [who, n] of Object.entries(multi.chunksByWorker).sort()) out(`    ${who.padEnd(28)} ${n}\n`);
}

/** Who used the CPU during each run, and how many cores that kept busy on average. */
function printCpu(runs: [string, RunStats | null][]): void {
  out(
    `\nCPU during each run (cores busy = CPU s / wall s; ${availableParallelism()} cores here;` +
      ' PostgreSQL = every PostgreSQL process on the host, other load included)\n',
  );
  const row = (name: string, s: number, wallMs: number): string =>
    `    ${name.padEnd(28)} ${s.toFixed(2).padStart(8)} s  ${(s / (wallMs / 1000)).toFixed(2).padStart(5)} cores\n`;
  for (const [name, run] of runs) {
    if (!run) {
      out(`  ${name}: skipped\n`);
      continue;
    }
    out(`  ${name} (wall ${secs(run.ms)} s)\n`);
    const parts = Object.entries(run.cpu) as [keyof typeof CPU_LABELS, number][];
    for (const [key, s] of parts) out(row(CPU_LABELS[key], s, run.ms));
    const total = parts.reduce((sum, [, s]) => sum + s, 0);
    out(row('total', total, run.ms));
  }
}

/** A figure the migration work is judged by, with its target (lower is better). */
interface Target {
  /** Its BENCH_JSON key. */
  key: string;
  name: string;
  value: number | null;
  /** Why there is no value. */
  missing?: string;
  unit: string;
  digits: number;
  target: number;
  stretch?: number;
  note?: string;
}

function targets(dbops: DbopsRun, pgloader: RunStats | null, raw: RunStats | null): Target[] {
  const timings = dbops.result.timingsMs;
  const step = (name: string): number => timings[name] ?? 0;
  const importMs = step('import');
  // A per-table pipeline overlaps the steps: import + index is then its wall span, and verify is compared
  // with import as activity time summed (each table's verification against its chunks' imports).
  const loadMs = timings.import_index ?? importMs + step('index');
  const [verifyMs, importWorkMs] =
    timings.verify_work !== undefined && timings.import_work !== undefined
      ? [timings.verify_work, timings.import_work]
      : [step('verify'), importMs];
  return [
    {
      key: 'dbopsOverPgloader',
      name: 'dbops end to end / pgloader',
      value: pgloader ? dbops.ms / pgloader.ms : null,
      missing: 'pgloader skipped',
      unit: '',
      digits: 2,
      target: 1.0,
      stretch: 0.7,
    },
    {
      key: 'importIndexOverRaw',
      name: '(import + index) / raw bound',
      value: raw ? loadMs / raw.ms : null,
      missing: 'raw bound skipped',
      unit: '',
      digits: 2,
      target: 2.0,
      note: 'the raw bound is COPY and post-data both',
    },
    {
      key: 'verifyOverImport',
      name: 'verify / import',
      value: importWorkMs > 0 ? verifyMs / importWorkMs : null,
      missing: 'no import step timed',
      unit: '',
      digits: 2,
      target: 0.25,
    },
    {
      key: 'workerPeakRssMb',
      name: 'dbops worker peak RSS',
      value: dbops.rssMb,
      unit: ' MB',
      digits: 0,
      target: 250,
    },
  ];
}

function verdict(t: Target): string {
  if (t.value === null) return '';
  if (t.stretch !== undefined && t.value <= t.stretch) return 'met, stretch too';
  return t.value <= t.target ? 'met' : 'missed';
}

function printTargets(list: Target[]): void {
  out('\ntargets\n');
  for (const t of list) {
    const value = t.value === null ? `n/a (${t.missing})` : `${t.value.toFixed(t.digits)}${t.unit}`;
    // Ratios print as 1.0 and 0.7, as the issue states them; sizes as whole numbers.
    const bound = (n: number): string => (t.unit === '' && Number.isInteger(n) ? n.toFixed(1) : String(n));
    const goal = `target ≤ ${bound(t.target)}${t.unit}${t.stretch === undefined ? '' : `, stretch ≤ ${bound(t.stretch)}`}`;
    const note = t.note ? `(${t.note})` : '';
    out(`  ${t.name.padEnd(30)} ${value.padStart(8)}   ${goal.padEnd(30)} ${verdict(t)} ${note}`.trimEnd() + '\n');
  }
}

/** A run's wall seconds and CPU seconds per process group, for BENCH_JSON. */
function runJson(run: RunStats | null): Record<string, number> | null {
  if (!run) return null;
  return Object.fromEntries([
    ['wallS', round(run.ms / 1000, 2)],
    ...Object.entries(run.cpu).map(([key, s]) => [key, round(s, 2)]),
  ]) as Record<string, number>;
}

async function main(): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const source = join(dir, `helloagents-${users}.db`);
  if (!existsSync(source)) createHelloAgentsDb(source, { users });
  const rows = 37 * users;
  const mb = statSync(source).size / 1024 / 1024;
  out(`source ${source}: ~${rows} rows, ${mb.toFixed(1)} MB\n`);

  // With --workers N, the one-worker run first, as the figure the N-worker run is compared with.
  const single = workerCount > 1 ? await runDbops(source, 1) : null;
  const dbops = await runDbops(source, workerCount);
  for (const run of [single, dbops])
    if (run && (run.result.status !== 'completed' || !run.result.tables.every((t) => t.match)))
      throw new Error(`dbops run on ${run.workers} worker(s) did not verify`);
  const pgloader = skipPgloader ? null : await runPgloader(source);
  const raw = skipRaw ? null : await runRaw(dbops.url);

  out(`\nwall time (N = ${users} users)\n`);
  if (single) out(`${wallLine('dbops, 1 worker', single, rows, mb)}\n`);
  out(`${wallLine(single ? `dbops, ${workerCount} workers` : 'dbops (incl. verify)', dbops, rows, mb)}\n`);
  out(`${wallLine('pgloader 3.6.9', pgloader, rows, mb)}\n`);
  out(`${wallLine('raw COPY + post-data', raw, rows, mb)}\n`);
  if (single) printScaleOut(single, dbops);
  printSteps(dbops.result.timingsMs, dbops.ms);
  printCpu([
    ['dbops', dbops],
    ['pgloader', pgloader],
    ['raw bound', raw],
  ]);
  const list = targets(dbops, pgloader, raw);
  printTargets(list);

  const json = {
    users,
    rows,
    mb: round(mb, 1),
    dbopsS: round(dbops.ms / 1000, 2),
    pgloaderS: pgloader && round(pgloader.ms / 1000, 2),
    rawS: raw && round(raw.ms / 1000, 2),
    phaseMs: dbops.result.timingsMs,
    workers: workerCount,
    ...(single
      ? {
          scaleOut: {
            oneWorkerS: round(single.ms / 1000, 2),
            workersS: round(dbops.ms / 1000, 2),
            speedup: round(single.ms / dbops.ms, 2),
            chunksByWorker: dbops.chunksByWorker,
            importMs: { oneWorker: single.result.timingsMs.import, workers: dbops.result.timingsMs.import },
          },
        }
      : {}),
    workerPeakRssMb: round(dbops.rssMb, 0),
    workerIdleRssMb: round(dbops.idleRssMb, 0),
    cpuS: { dbops: runJson(dbops), pgloader: runJson(pgloader), raw: runJson(raw) },
    ratios: Object.fromEntries(
      list.filter((t) => t.key !== 'workerPeakRssMb').map((t) => [t.key, t.value === null ? null : round(t.value, 3)]),
    ),
  };
  out(`\nBENCH_JSON ${JSON.stringify(json)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:migrate: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
