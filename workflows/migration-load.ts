/**
 * The load as a pipeline per table — import → keys and indexes → verification — instead of three global
 * barriers: a table's indexes are built as soon as its last chunk commits and it is verified as soon as they
 * are, while the other tables still import; the largest tables start first, so the run does not end waiting
 * on one big table alone. Foreign keys and views follow once every table is in. Every step is the same
 * activity as before; only the order differs.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { StagedSource } from '../activities/migration/source-staging';
import type { TableVerification } from '../common/contracts/migration';
import type { ChunkPlan, MigrationPlan, TablePlan } from '../common/contracts/migration-plan';
import type { ProgressItem } from '../common/progress';
import { LONG_STEP } from './support/activity-options';
import type { JobState } from './support/job-state';
import { drainLimited } from './support/limit';

/**
 * The same activities with a one-line summary the Web UI's timeline shows (user metadata: replay ignores
 * it), on `taskQueue` when given (the source's host), else the workflow's own.
 */
const summarised = (summary: string, taskQueue?: string) =>
  proxyActivities<Activities>({ ...LONG_STEP, summary, ...(taskQueue === undefined ? {} : { taskQueue }) });

/** `COPY users rows 1–50,000`: what a chunk copies, in the operator's words. */
function chunkSummary(table: TablePlan, chunk: ChunkPlan): string {
  if (chunk.from === undefined || chunk.to === undefined) return `COPY ${table.name} (the whole table)`;
  const key = chunk.column ?? 'rows';
  const spell = (n: string) => n.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `COPY ${table.name} ${key} ${spell(chunk.from)}–${spell(chunk.to)}`;
}

/** What the load needs and where it reports. */
export interface LoadInput {
  target: string;
  staging: string;
  backupPath: string;
  /**
   * Where the steps that read the backup run, asked as each is scheduled (scale-out): on the source's host
   * queue (`taskQueue`) until the backup is staged, then on any worker, told the staged `source`.
   */
  route?: () => SourceRoute;
  plan: MigrationPlan;
  concurrency: number;
  state: JobState;
  /** Step timings of the run: `import`, `index`, `verify` (wall spans, which overlap), `<step>_work` (activity time summed), `import_index` (import start to the last index built). */
  timings: Record<string, number>;
  warnings: string[];
  verification: TableVerification[];
}

/** Where a step that reads the backup runs, and what it is told of the staged copy. */
export interface SourceRoute {
  taskQueue?: string;
  source?: StagedSource;
}

type Work = { table: TablePlan; chunk: ChunkPlan } | { table: TablePlan; chunk?: undefined };

/** Wall spans and summed durations per step, written into the run's timings. */
class Spans {
  private readonly first: Record<string, number> = {};
  private readonly last: Record<string, number> = {};

  constructor(private readonly timings: Record<string, number>) {}

  async time<T>(step: string, body: () => Promise<T>): Promise<T> {
    const started = Date.now();
    this.first[step] ??= started;
    try {
      return await body();
    } finally {
      const ended = Date.now();
      this.last[step] = Math.max(this.last[step] ?? 0, ended);
      this.timings[step] = this.last[step] - (this.first[step] ?? started);
      this.timings[`${step}_work`] = (this.timings[`${step}_work`] ?? 0) + (ended - started);
      if (step === 'index' && this.first.import !== undefined)
        this.timings.import_index = this.last[step] - this.first.import;
    }
  }
}

/** Imports, indexes and verifies every table, then adds foreign keys and views. */
export async function loadTables(input: LoadInput): Promise<void> {
  const { plan, state } = input;
  const spans = new Spans(input.timings);
  const tables = [...plan.tables].sort((a, b) => b.rowCount - a.rowCount || a.name.localeCompare(b.name));
  const chunksLeft = new Map(tables.map((t) => [t.name, t.chunks.length]));
  const rowsTotal = tables.reduce((n, t) => n + t.rowCount, 0);
  let rowsDone = 0;
  const summary = () =>
    `imported ${rowsDone} of ${rowsTotal} rows; ${input.verification.length} of ${tables.length} table(s) indexed and verified`;
  const initial: Work[] = tables.flatMap((table) =>
    table.chunks.length > 0 ? table.chunks.map((chunk) => ({ table, chunk })) : [{ table }],
  );
  // Per table, for the Web UI's current details and `dbops watch`: rows in, and where it is in its pipeline.
  const items = new Map<string, ProgressItem>(
    tables.map((t) => [t.name, { name: t.name, done: 0, total: t.rowCount, unit: 'rows', state: 'waiting' }]),
  );
  const mark = (table: TablePlan, next: Partial<ProgressItem>): void => {
    const item = items.get(table.name);
    if (item) Object.assign(item, next);
  };
  const started = Date.now(); // workflow time: replays identically
  const report = (phase: string, message: string): void => {
    const seconds = (Date.now() - started) / 1000;
    state.update({
      phase,
      message,
      done: rowsDone,
      total: rowsTotal,
      unit: 'rows',
      ...(seconds > 0 && rowsDone > 0 ? { ratePerSecond: Math.round(rowsDone / seconds) } : {}),
      items: [...items.values()].map((item) => ({ ...item })),
    });
  };
  report('import', summary());
  await drainLimited(initial, input.concurrency, async ({ table, chunk }, push) => {
    if (chunk) {
      mark(table, { state: 'importing' });
      report('import', summary());
      const { taskQueue, source } = input.route?.() ?? {};
      const { rows } = await spans.time('import', () =>
        summarised(chunkSummary(table, chunk), taskQueue).migrationImportChunk({
          target: input.target,
          staging: input.staging,
          backupPath: input.backupPath,
          table,
          chunk,
          ...(source ? { source } : {}),
        }),
      );
      rowsDone += rows;
      const left = (chunksLeft.get(table.name) ?? 1) - 1;
      chunksLeft.set(table.name, left);
      mark(table, { done: (items.get(table.name)?.done ?? 0) + rows, state: left === 0 ? 'imported' : 'importing' });
      report('import', summary());
      if (left === 0) push({ table });
      return;
    }
    mark(table, { state: 'indexing' });
    report('index', `building keys and indexes of ${table.name}; ${summary()}`);
    const built = await spans.time('index', () =>
      summarised(`keys, indexes and sequence of ${table.name}`).migrationBuildTable({
        target: input.target,
        staging: input.staging,
        table,
      }),
    );
    input.warnings.push(...built.warnings);
    mark(table, { state: 'verifying' });
    report('verify', `verifying ${table.name}; ${summary()}`);
    const { taskQueue, source } = input.route?.() ?? {};
    input.verification.push(
      await spans.time('verify', () =>
        summarised(`verify ${table.name}: ${table.rowCount} rows, every column`, taskQueue).migrationVerifyTable({
          target: input.target,
          staging: input.staging,
          backupPath: input.backupPath,
          table,
          ...(source ? { source } : {}),
        }),
      ),
    );
    const verified = input.verification[input.verification.length - 1];
    mark(table, { state: verified?.match === false ? 'MISMATCH' : 'verified' });
    // Same phase as now: a phase change is a search-attribute command, and runs must replay unchanged.
    report(state.progress.phase, state.progress.message);
  });
  report('index', `adding foreign keys and views; ${summary()}`);
  const outcome = await spans.time('index', () =>
    summarised('foreign keys and views').migrationBuildSchema({ target: input.target, staging: input.staging, plan }),
  );
  input.warnings.push(...outcome.warnings);
}
