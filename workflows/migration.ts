/**
 * `migrateSqliteToPostgres`: backup → export → create_schema → import → index → verify → (awaiting_approval)
 * → cutover → awaiting_finalize → finalizing → completed. Any failure, or a `rollback` signal at any phase,
 * runs the compensations of the completed steps in reverse and leaves the target as it was.
 */
import { ApplicationFailure, type ActivityFailure } from '@temporalio/common';
import {
  ActivityCancellationType,
  CancellationScope,
  condition,
  defineSignal,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { MigrationPlan } from '../activities/migration/plan-types';
import type { MigrationReportData } from '../activities/migration/report';
import { schemaNameProblem, schemaNames, type SchemaNames } from '../common/schema-names';
import type { TableVerification } from '../activities/migration/verify-table';
import { ErrorCode } from '../common/errors';
import { forEachLimited } from './support/limit';
import { guardInput, JobState } from './support/job-state';

/** Input of the migration: one JSON object (the Web UI's Start Workflow form sends it as is). */
export interface MigrationInput {
  /** SQLite file path (on the worker's host), `sqlite:///abs/path`, or a connection name. */
  source: string;
  /** PostgreSQL URL without password, or a connection name. */
  target: string;
  /** Target schema (default `public`). */
  schema?: string;
  tables?: string[];
  exclude?: string[];
  /** Keep the previous schema this long for rollback; 0 finalizes at once (default 60). */
  rollbackWindowMinutes?: number;
  requireApproval?: boolean;
  /** Fail before touching the target instead of widening a column to a lossless type. */
  strict?: boolean;
  /** Rows per import chunk (default 50,000). */
  chunkRows?: number;
  /** Chunks and tables processed at once (default: the worker's CPU count, between 2 and 4). */
  concurrency?: number;
  /** Seed extra: a GIN index on every jsonb column. */
  ginJsonb?: boolean;
  /** Seed extra: GIN full-text indexes (`to_tsvector('simple', …)`) on these `table.column` text columns. */
  fullText?: string[];
  /** IANA time zone that timestamps without an offset were written in (default UTC), e.g. `Europe/Paris`. */
  sourceTimeZone?: string;
}

/** One table in the result. */
export interface MigrationTableResult extends TableVerification {
  name: string;
  columns: { name: string; sourceType: string; targetType: string; reason: string }[];
  indexes: string[];
}

/** The result: also what `dbops migrate --wait --json` prints. */
export interface MigrationResult {
  status: 'completed' | 'rolled_back';
  schema: string;
  tables: MigrationTableResult[];
  warnings: string[];
  notMigrated: MigrationPlan['notMigrated'];
  timingsMs: Record<string, number>;
  source: { path: string; sha256Before: string; sha256After: string; backup: string };
  reports: { markdown: string; json: string };
  rollbackReason?: string;
}

/** Argument of the `rollback` signal. */
export interface RollbackRequest {
  reason?: string;
}

export const rollbackSignal = defineSignal<[RollbackRequest?]>('rollback');
export const approveSignal = defineSignal('approve');
export const finalizeSignal = defineSignal('finalize');

const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 };
const quick = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', retry });
// Short steps that write to the target: on rollback, wait for the attempt to end before compensating (a
// cancelled CREATE that commits after the DROP would leave a schema behind).
const guarded = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry,
});
// Backup, export, import, index and verify heartbeat at least every 5 s (their SQLite work runs on threads,
// so the worker's event loop stays free): a worker that dies is noticed in 20 s and the step retried
// elsewhere (chunks are idempotent).
// On rollback the workflow waits for cancelled steps to stop (an import chunk rolls its COPY back) before
// compensating, so DROP SCHEMA never races a transaction still writing into staging.
const long = proxyActivities<Activities>({
  startToCloseTimeout: '4 hours',
  heartbeatTimeout: '20 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry,
});
// Compensations must get through: more attempts, and they run in a non-cancellable scope.
const undo = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: { ...retry, maximumAttempts: 20 },
});

/** Migrates a SQLite database into a PostgreSQL schema through a staging schema and a rename cutover. */
export async function migrateSqliteToPostgres(input: MigrationInput): Promise<MigrationResult> {
  guardInput(input);
  const schema = input.schema ?? 'public';
  const window = input.rollbackWindowMinutes ?? 60;
  const problems = [
    schemaNameProblem(schema),
    typeof input.source !== 'string' || input.source === ''
      ? 'source is required: a SQLite file path or connection name'
      : undefined,
    typeof input.target !== 'string' || input.target === ''
      ? 'target is required: a PostgreSQL URL without password or connection name'
      : undefined,
    !Number.isInteger(window) || window < 0
      ? `rollbackWindowMinutes must be a whole number ≥ 0, got ${String(input.rollbackWindowMinutes)}`
      : undefined,
    input.chunkRows !== undefined && (!Number.isInteger(input.chunkRows) || input.chunkRows < 100)
      ? `chunkRows must be a whole number ≥ 100, got ${String(input.chunkRows)}`
      : undefined,
    input.concurrency !== undefined &&
    (!Number.isInteger(input.concurrency) || input.concurrency < 1 || input.concurrency > 32)
      ? `concurrency must be a whole number from 1 to 32, got ${String(input.concurrency)}`
      : undefined,
  ].filter((p): p is string => p !== undefined);
  if (problems.length > 0)
    throw ApplicationFailure.create({ type: ErrorCode.BadInput, message: problems.join('; '), nonRetryable: true });

  const { workflowId, runId } = workflowInfo();
  // The tail of the run id is random (UUIDv7 starts with the time, shared by runs started together).
  const names: SchemaNames = schemaNames(schema, runId.replace(/-/g, '').slice(-8));
  const state = new JobState('migration', [input.source, input.target], {
    phase: 'backup',
    message: 'backing up the source',
  });
  const timings: Record<string, number> = {};
  const compensations: { name: string; run: () => Promise<void> }[] = [];
  const work = new CancellationScope();
  let rollback: RollbackRequest | undefined;
  let approved = false;
  let finalizeNow = false;
  setHandler(
    rollbackSignal,
    (request) => {
      rollback = request ?? {};
      work.cancel();
    },
    {
      description:
        'Undo the migration: before cutover drop the staging schema; after cutover rename the previous schema back',
    },
  );
  setHandler(approveSignal, () => void (approved = true), { description: 'Allow the cutover (with requireApproval)' });
  setHandler(finalizeSignal, () => void (finalizeNow = true), {
    description: 'End the rollback window now and drop the previous schema',
  });

  const step = async <T>(phase: string, message: string, body: () => Promise<T>): Promise<T> => {
    state.update({ phase, message });
    const started = Date.now();
    try {
      return await body();
    } finally {
      timings[phase] = (timings[phase] ?? 0) + (Date.now() - started);
    }
  };

  let plan: MigrationPlan | null = null;
  let sourcePath = input.source;
  let sha256Before = '';
  let backupPath = '';
  let targetLabel = input.target;
  const verification: TableVerification[] = [];
  const warnings: string[] = [];
  const report = (
    status: MigrationReportData['status'],
    sha256After: string | null,
    error: MigrationReportData['error'],
  ): MigrationReportData => ({
    workflowId,
    status,
    source: sourcePath,
    target: targetLabel,
    schema,
    sourceSha256Before: sha256Before || null,
    sourceSha256After: sha256After,
    plan,
    verification,
    warnings,
    timingsMs: timings,
    error,
    rollback: rollbackHowTo(status, window, workflowId),
  });

  try {
    await work.run(async () => {
      const resolved = await step('backup', 'checking source and target', () =>
        quick.migrationResolve({ source: input.source, target: input.target, sourceTimeZone: input.sourceTimeZone }),
      );
      sourcePath = resolved.sourcePath;
      targetLabel = resolved.targetLabel;
      const backup = await step('backup', 'backing up the source', () =>
        long.migrationBackup({ sourcePath, target: input.target, schema }),
      );
      sha256Before = backup.sourceSha256;
      backupPath = backup.backupPath;

      plan = await step('export', 'discovering the schema and profiling the data', () =>
        long.migrationExport({
          backupPath,
          options: {
            tables: input.tables,
            exclude: input.exclude,
            strict: input.strict ?? false,
            chunkRows: input.chunkRows ?? 50_000,
            ginJsonb: input.ginJsonb ?? false,
            fullText: input.fullText ?? [],
            sourceTimeZone: input.sourceTimeZone,
          },
        }),
      );
      const thePlan = plan;
      const concurrency = input.concurrency ?? Math.min(4, Math.max(2, thePlan.hostParallelism ?? 4));
      warnings.push(...thePlan.warnings);
      if (thePlan.fatal.length > 0) {
        throw ApplicationFailure.create({
          type: ErrorCode.BadInput,
          message: `the target was not touched: ${thePlan.fatal.join(' | ')}`,
          nonRetryable: true,
        });
      }

      // Registered before the step: an attempt that committed the schema and then lost its answer must be undone too.
      compensations.unshift({
        name: `drop staging schema ${names.staging}`,
        run: () => undo.migrationDropSchema({ target: input.target, schema: names.staging }),
      });
      await step('create_schema', `creating staging schema ${names.staging}`, () =>
        guarded.migrationPrepare({ target: input.target, names, plan: thePlan }),
      );

      const chunks = thePlan.tables.flatMap((table) => table.chunks.map((chunk) => ({ table, chunk })));
      let rowsDone = 0;
      const rowsTotal = thePlan.tables.reduce((n, t) => n + t.rowCount, 0);
      await step('import', `importing ${rowsTotal} rows in ${chunks.length} chunk(s)`, () =>
        forEachLimited(chunks, concurrency, async ({ table, chunk }) => {
          const { rows } = await long.migrationImportChunk({
            target: input.target,
            staging: names.staging,
            backupPath,
            table,
            chunk,
          });
          rowsDone += rows;
          state.update({
            phase: 'import',
            message: `imported ${rowsDone} of ${rowsTotal} rows`,
            done: rowsDone,
            total: rowsTotal,
          });
        }),
      );

      await step('index', 'building keys, indexes, sequences', async () => {
        await forEachLimited(thePlan.tables, concurrency, async (table) => {
          const outcome = await long.migrationBuildTable({ target: input.target, staging: names.staging, table });
          warnings.push(...outcome.warnings);
        });
        const outcome = await long.migrationBuildSchema({
          target: input.target,
          staging: names.staging,
          plan: thePlan,
        });
        warnings.push(...outcome.warnings);
      });

      await step('verify', 'comparing row counts and content checksums', () =>
        forEachLimited(thePlan.tables, concurrency, async (table) => {
          verification.push(
            await long.migrationVerifyTable({ target: input.target, staging: names.staging, backupPath, table }),
          );
        }),
      );
      verification.sort((a, b) => a.table.localeCompare(b.table));
      const mismatched = verification.filter((v) => !v.match);
      if (mismatched.length > 0) {
        throw ApplicationFailure.create({
          type: 'DBOPS_VERIFY_MISMATCH',
          message: `verification failed: ${mismatched.map((v) => `${v.table} source ${v.checksumSource} (${v.rowsSource} rows) ≠ target ${v.checksumTarget} (${v.rowsTarget} rows)${v.problem ? `: ${v.problem}` : ''}`).join('; ')}`,
          nonRetryable: true,
        });
      }

      if (input.requireApproval) {
        state.update({ phase: 'awaiting_approval', message: 'verified; waiting for the approve (or rollback) signal' });
        await condition(() => approved);
      }
    });

    const { previousSchema } = await step('cutover', `renaming ${names.staging} to ${schema}`, () =>
      CancellationScope.nonCancellable(() => quick.migrationCutover({ target: input.target, names })),
    );
    compensations.length = 0; // staging no longer exists: undoing now means renaming back
    compensations.unshift({
      name: 'rename the previous schema back',
      run: () => undo.migrationRevertCutover({ target: input.target, names, previousSchema }),
    });

    if (window > 0) {
      state.update({
        phase: 'awaiting_finalize',
        message: `cut over; rollback possible for ${window} minute(s) (signal rollback or finalize)`,
      });
      await condition(() => finalizeNow || rollback !== undefined, `${window} minutes`);
    }
    if (rollback)
      throw ApplicationFailure.create({
        type: 'DBOPS_ROLLBACK_REQUESTED',
        message: rollback.reason ?? 'rollback requested',
        nonRetryable: true,
      });

    if (previousSchema)
      await step('finalizing', `dropping the previous schema ${names.old}`, () =>
        undo.migrationDropSchema({ target: input.target, schema: names.old }),
      );
    const sha256After = await quick.migrationSourceChecksum({ sourcePath });
    state.update({ phase: 'completed', message: `migrated ${verification.length} table(s) into ${schema}` });
    const reports = await quick.migrationWriteReport({ report: report('completed', sha256After, null) });
    return result('completed', sha256After, reports);
  } catch (err) {
    const cancelled = isCancellation(err) || rollback !== undefined;
    state.update({
      ...state.progress,
      phase: 'rolling_back',
      message: cancelled
        ? `rolling back: ${rollback?.reason ?? 'requested'}`
        : `rolling back after: ${rootMessage(err)}`,
    });
    await CancellationScope.nonCancellable(async () => {
      for (const compensation of compensations) {
        try {
          await compensation.run();
        } catch (compensationError) {
          warnings.push(`compensation "${compensation.name}" failed: ${rootMessage(compensationError)}; fix by hand`);
        }
      }
    });
    const sha256After = sha256Before
      ? await CancellationScope.nonCancellable(() => quick.migrationSourceChecksum({ sourcePath }))
      : null;
    if (cancelled) {
      state.update({ phase: 'rolled_back', message: `rolled back: ${rollback?.reason ?? 'requested'}` });
      const reports = await CancellationScope.nonCancellable(() =>
        quick.migrationWriteReport({ report: report('rolled_back', sha256After, null) }),
      );
      return result('rolled_back', sha256After ?? '', reports);
    }
    state.update({ phase: 'failed', message: rootMessage(err) });
    const error = { type: rootType(err), message: rootMessage(err) };
    const reports = await CancellationScope.nonCancellable(() =>
      quick.migrationWriteReport({ report: report('failed', sha256After, error) }),
    ).catch(() => undefined);
    throw ApplicationFailure.create({
      type: error.type,
      message: `${error.message}${reports ? ` (report: ${reports.markdown})` : ''}; the target was left as it was`,
      nonRetryable: true,
    });
  }

  function result(
    status: MigrationResult['status'],
    sha256After: string,
    reports: { markdown: string; json: string },
  ): MigrationResult {
    const thePlan = plan as MigrationPlan | null;
    return {
      status,
      schema,
      tables: verification.map((v) => {
        const table = thePlan?.tables.find((t) => t.name === v.table);
        return {
          name: v.table,
          ...v,
          columns: (table?.columns ?? []).map((c) => ({
            name: c.name,
            sourceType: c.sourceType,
            targetType: c.targetType,
            reason: c.reason,
          })),
          indexes: (table?.indexes ?? []).map((ix) => ix.name),
        };
      }),
      warnings,
      notMigrated: thePlan?.notMigrated ?? [],
      timingsMs: timings,
      source: { path: sourcePath, sha256Before, sha256After, backup: backupPath },
      reports,
      ...(rollback?.reason ? { rollbackReason: rollback.reason } : {}),
    };
  }
}

function rollbackHowTo(status: string, window: number, workflowId: string): string {
  if (status !== 'completed') return 'nothing to do: the target is as it was before the run';
  return window > 0
    ? `within ${window} minute(s) of the cutover: npx dbops signal ${workflowId} rollback; afterwards restore the target-<schema>.dump of this run with pg_restore`
    : 'finalized at once (rollback window 0): restore the target-<schema>.dump of this run with pg_restore';
}

function rootOf(err: unknown): { type?: string; message: string } {
  // The first ApplicationFailure in the cause chain carries dbops' own code (deeper ones are driver errors).
  let current: unknown = err;
  for (let i = 0; i < 6 && current; i++) {
    if (current instanceof ApplicationFailure) return { type: current.type ?? undefined, message: current.message };
    current = (current as ActivityFailure).cause;
  }
  return { message: err instanceof Error ? err.message : String(err) };
}

function rootMessage(err: unknown): string {
  return rootOf(err).message;
}

function rootType(err: unknown): string {
  return rootOf(err).type ?? 'DBOPS_MIGRATION_FAILED';
}
