/**
 * `migrateSqliteToPostgres`: backup → export → create_schema → import → index → verify → (awaiting_approval)
 * → cutover → awaiting_finalize → finalizing → completed. Any failure, or a `rollback` signal at any phase,
 * runs the compensations of the completed steps in reverse and leaves the target as it was.
 */
import { ApplicationFailure } from '@temporalio/common';
import { CancellationScope, isCancellation, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { StagedSource } from '../activities/migration/source-staging';
import {
  exportOptions,
  MIGRATION_DEFAULTS,
  migrationInputProblems,
  type MigrationInput,
  type MigrationResult,
} from '../common/contracts/migration';
import { ErrorCode } from '../common/errors';
import { schemaNames, type SchemaNames } from '../common/schema-names';
import { COMPENSATION_STEP, GUARDED_STEP, LONG_STEP, QUICK_STEP } from './support/activity-options';
import { Compensations } from './support/compensations';
import { rootMessage, rootType } from './support/failures';
import { guardInput, JobState } from './support/job-state';
import { forEachLimited } from './support/limit';
import { notifyOnFailure, remindWhileWaiting } from './support/operator-alerts';
import { StepRunner } from './support/steps';
import {
  finalizeLeftToDo,
  migrationResult,
  mismatchMessage,
  newFacts,
  reportData,
  revertCutoverSql,
} from './migration-outcome';
import { loadTables, type SourceRoute } from './migration-load';
import { MigrationSignals } from './migration-signals';

/** Runs recorded before the per-table pipeline replay the three global steps (import, index, verify). */
const PER_TABLE_PIPELINE = 'per-table-pipeline';

/**
 * Runs recorded before scale-out ran every step on the shared queue and staged nothing. Since, the steps
 * that read the source or its backup run on the host queue of the worker that resolved the source, the
 * backup is staged in the object store, and chunks and verification run on any worker
 * (docs/architecture.md, "Scale out").
 */
const SCALE_OUT = 'scale-out';

const quick = proxyActivities<Activities>(QUICK_STEP);
const guarded = proxyActivities<Activities>(GUARDED_STEP);
const long = proxyActivities<Activities>(LONG_STEP);
const undo = proxyActivities<Activities>(COMPENSATION_STEP);

/** What the operator can do in each phase, shown in the Web UI's current details. */
function operatorActions(phase: string): string | undefined {
  if (phase === 'awaiting_approval')
    return '**Waiting for you:** signal `approve` to cut over, or `rollback` to undo everything.';
  if (phase === 'awaiting_finalize')
    return '**Cut over:** signal `finalize` to drop the previous schema, or `rollback` to put it back.';
  if (['backup', 'export', 'create_schema', 'import', 'index', 'verify'].includes(phase))
    return 'Signal `rollback` to stop: the target is left as it was.';
  return undefined;
}

/**
 * Migrates a SQLite database into a PostgreSQL schema through a staging schema and a rename cutover. A run
 * that ends failed alerts the operators (a requested rollback that succeeds is not a failure).
 */
export async function migrateSqliteToPostgres(input: MigrationInput): Promise<MigrationResult> {
  return notifyOnFailure(
    {
      what: () =>
        `migration of ${input?.source} into ${input?.target} (schema ${input?.schema ?? MIGRATION_DEFAULTS.schema})`,
    },
    () => migrate(input),
  );
}

async function migrate(input: MigrationInput): Promise<MigrationResult> {
  guardInput(input);
  const problems = migrationInputProblems(input);
  if (problems.length > 0)
    throw ApplicationFailure.create({ type: ErrorCode.BadInput, message: problems.join('; '), nonRetryable: true });
  const schema = input.schema ?? MIGRATION_DEFAULTS.schema;
  const window = input.rollbackWindowMinutes ?? MIGRATION_DEFAULTS.rollbackWindowMinutes;

  const { workflowId, runId } = workflowInfo();
  // The tail of the run id is random (UUIDv7 starts with the time, shared by runs started together).
  const names: SchemaNames = schemaNames(schema, runId.replace(/-/g, '').slice(-8));
  const state = new JobState(
    'migration',
    [input.source, input.target],
    { phase: 'backup', message: 'backing up the source' },
    operatorActions,
  );
  const steps = new StepRunner(state);
  const compensations = new Compensations();
  const facts = newFacts(workflowId, schema, window, input, steps.timings);
  const work = new CancellationScope();
  const signals = new MigrationSignals(
    work,
    () => state.progress.phase,
    input.requireApproval ?? false,
    `target-${schema}.dump`,
  );
  facts.ignoredSignals = signals.ignored;
  let previousSchema = false;
  let oldDropped = false;
  let sha256After: string | null = null;
  // The steps that read the source's files: on its host's queue once known (scale-out), else the shared one.
  let fileQuick = quick;
  let fileLong = long;
  let staging: Promise<{ source: StagedSource; warning?: string }> | undefined;
  let stagedFrom: { backupPath: string; sha256: string } | undefined;
  let unstaged = false;
  /** Drops the run's claim on its staged source (best effort: a failure is a warning, never the outcome). */
  const unstage = async (): Promise<void> => {
    if (!staging || !stagedFrom || unstaged) return;
    unstaged = true;
    const from = stagedFrom;
    await CancellationScope.nonCancellable(async () => {
      // A staging that ended without staging anything has nothing to undo; one that failed may have marked.
      const staged = await staging?.catch(() => undefined);
      if (staged && !staged.source.stagedKey) return;
      await fileLong.migrationUnstageSource(from).catch((err: unknown) => {
        facts.warnings.push(
          `the staged copy of the source backup (staging/sqlite/${from.sha256}.db in the workers' bucket) was not removed: ${rootMessage(err)}; delete it by hand when no migration of that file runs`,
        );
      });
    });
  };

  try {
    await work.run(async () => {
      const resolved = await steps.run('backup', 'checking source and target', () =>
        quick.migrationResolve({ source: input.source, target: input.target, sourceTimeZone: input.sourceTimeZone }),
      );
      facts.source = resolved.sourcePath;
      facts.target = resolved.targetLabel;
      // Runs recorded before scale-out (or a resolve answered by an older worker) keep one queue.
      const hostQueue = patched(SCALE_OUT) ? resolved.hostQueue : undefined;
      if (hostQueue !== undefined) {
        fileQuick = proxyActivities<Activities>({ ...QUICK_STEP, taskQueue: hostQueue });
        fileLong = proxyActivities<Activities>({ ...LONG_STEP, taskQueue: hostQueue });
      }
      const backup = await steps.run('backup', 'backing up the source', () =>
        fileLong.migrationBackup({ sourcePath: resolved.sourcePath, target: input.target, schema }),
      );
      facts.sha256Before = backup.sourceSha256;
      facts.backupPath = backup.backupPath;
      const backupPath = backup.backupPath;

      // Staging uploads the backup while the export reads it and the import starts: until it is staged,
      // the steps that read the backup run on its host; from then on, on any worker. Never staged (no
      // object store): on its host to the end.
      let route: SourceRoute = {};
      if (hostQueue !== undefined) {
        stagedFrom = { backupPath, sha256: backup.backupSha256 };
        route = { taskQueue: hostQueue };
        const started = Date.now();
        staging = fileLong.migrationStageSource(stagedFrom);
        staging.then(
          (staged) => {
            steps.timings.stage_source = Date.now() - started;
            if (staged.warning) facts.warnings.push(staged.warning);
            if (staged.source.stagedKey) route = { source: staged.source };
          },
          () => undefined, // awaited after the load, where a failure fails the run
        );
      }
      const plan = await steps.run('export', 'discovering the schema and profiling the data', () =>
        fileLong.migrationExport({ backupPath, options: exportOptions(input) }),
      );
      facts.plan = plan;
      const concurrency = input.concurrency ?? Math.min(4, Math.max(2, plan.hostParallelism ?? 4));
      facts.warnings.push(...plan.warnings);
      if (plan.fatal.length > 0) {
        throw ApplicationFailure.create({
          type: ErrorCode.BadInput,
          message: `the target was not touched: ${plan.fatal.join(' | ')}`,
          nonRetryable: true,
        });
      }

      compensations.push(
        `drop staging schema ${names.staging}`,
        () => undo.migrationDropSchema({ target: input.target, schema: names.staging }),
        `DROP SCHEMA IF EXISTS "${names.staging}" CASCADE;`,
      );
      await steps.run('create_schema', `creating staging schema ${names.staging}`, () =>
        guarded.migrationPrepare({ target: input.target, names, plan, replaceSchema: input.replaceSchema }),
      );

      if (patched(PER_TABLE_PIPELINE)) {
        await loadTables({
          target: input.target,
          staging: names.staging,
          backupPath,
          route: () => route,
          plan,
          concurrency,
          state,
          timings: steps.timings,
          warnings: facts.warnings,
          verification: facts.verification,
        });
      } else {
        const chunks = plan.tables.flatMap((table) => table.chunks.map((chunk) => ({ table, chunk })));
        let rowsDone = 0;
        const rowsTotal = plan.tables.reduce((n, t) => n + t.rowCount, 0);
        await steps.run('import', `importing ${rowsTotal} rows in ${chunks.length} chunk(s)`, () =>
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

        await steps.run('index', 'building keys, indexes, sequences', async () => {
          await forEachLimited(plan.tables, concurrency, async (table) => {
            const outcome = await long.migrationBuildTable({ target: input.target, staging: names.staging, table });
            facts.warnings.push(...outcome.warnings);
          });
          const outcome = await long.migrationBuildSchema({ target: input.target, staging: names.staging, plan });
          facts.warnings.push(...outcome.warnings);
        });

        await steps.run('verify', 'comparing row counts and content checksums', () =>
          forEachLimited(plan.tables, concurrency, async (table) => {
            facts.verification.push(
              await long.migrationVerifyTable({ target: input.target, staging: names.staging, backupPath, table }),
            );
          }),
        );
      }
      // A staging that failed (rather than fell back) fails the run here; it has ended before any cutover.
      if (staging) await staging;
      facts.verification.sort((a, b) => a.table.localeCompare(b.table));
      const mismatch = mismatchMessage(facts.verification);
      if (mismatch)
        throw ApplicationFailure.create({ type: ErrorCode.VerifyMismatch, message: mismatch, nonRetryable: true });

      if (input.requireApproval) {
        state.update({
          ...state.progress,
          phase: 'awaiting_approval',
          message: 'verified; waiting for the approve (or rollback) signal',
        });
        await remindWhileWaiting(
          {
            waitingFor: 'approval to cut over',
            afterMinutes: input.remindAfterMinutes,
            actions: [
              `dbops signal ${workflowId} approve`,
              `dbops signal ${workflowId} rollback --arg '{"reason":"…"}'`,
            ],
          },
          () => signals.approved,
        );
      }
    });

    ({ previousSchema } = await steps.run('cutover', `renaming ${names.staging} to ${schema}`, () =>
      CancellationScope.nonCancellable(() => quick.migrationCutover({ target: input.target, names })),
    ));
    signals.markCutOver();
    compensations.clear(); // staging no longer exists: undoing now means moving the migrated schema aside
    compensations.push(
      'move the migrated schema aside and rename the previous schema back',
      async () => {
        // Runs recorded before the migrated schema was kept aside returned nothing here.
        const reverted = await undo.migrationRevertCutover({ target: input.target, names, previousSchema });
        facts.keptAs = (reverted as { keptAs?: string } | undefined)?.keptAs;
      },
      revertCutoverSql(names, previousSchema),
    );

    if (window > 0) {
      state.update({
        ...state.progress,
        phase: 'awaiting_finalize',
        message: `cut over; rollback possible for ${window} minute(s) (signal rollback or finalize)`,
      });
      await remindWhileWaiting(
        {
          waitingFor: `finalize or rollback (the rollback window of ${window} minute(s) is open)`,
          afterMinutes: input.remindAfterMinutes,
          actions: [
            `dbops signal ${workflowId} finalize`,
            `dbops signal ${workflowId} rollback --arg '{"reason":"…"}'`,
          ],
        },
        () => signals.finalizeNow || signals.rollback !== undefined,
        window,
      );
    }
    if (signals.rollback)
      throw ApplicationFailure.create({
        type: ErrorCode.RollbackRequested,
        message: signals.rollback.reason ?? 'rollback requested',
        nonRetryable: true,
      });

    // The window is closed: from here on nothing undoes the cutover, whatever fails.
    signals.closeWindow();
    compensations.clear();
    if (previousSchema)
      await steps.run('finalizing', `dropping the previous schema ${names.old}`, () =>
        undo.migrationDropSchema({ target: input.target, schema: names.old }),
      );
    oldDropped = true;
    sha256After = await fileQuick.migrationSourceChecksum({ sourcePath: facts.source });
    await unstage();
    state.update({
      ...state.progress,
      phase: 'completed',
      message: `migrated ${facts.verification.length} table(s) into ${schema}`,
    });
    const reports = await fileQuick.migrationWriteReport({
      report: reportData(facts, 'completed', sha256After, null),
    });
    return migrationResult(facts, 'completed', sha256After, reports);
  } catch (err) {
    // Records the end in the progress and the report, then fails the run (the report is best effort).
    const failWith = async (phase: string, type: string, message: string, suffix = ''): Promise<never> => {
      state.update({ phase, message });
      await unstage();
      const status = phase === 'rollback_incomplete' ? 'rollback_incomplete' : 'failed';
      const reports = await CancellationScope.nonCancellable(() =>
        fileQuick.migrationWriteReport({ report: reportData(facts, status, sha256After, { type, message }) }),
      ).catch(() => undefined);
      throw ApplicationFailure.create({
        type,
        message: `${message}${reports ? ` (report: ${reports.markdown})` : ''}${suffix}`,
        nonRetryable: true,
      });
    };
    if (signals.windowClosed) {
      // Fail forward: the migrated schema is live and may already hold the application's rows.
      const left = finalizeLeftToDo(facts, names, previousSchema && !oldDropped, sha256After === null);
      return failWith(
        'failed',
        ErrorCode.FinalizeIncomplete,
        `the migration is complete and live in schema "${schema}" (nothing was undone), but ${rootMessage(err)}; left to do: ${left}`,
      );
    }
    const cancelled = isCancellation(err) || signals.rollback !== undefined;
    const cause = cancelled ? `rollback requested: ${signals.rollback?.reason ?? 'no reason given'}` : rootMessage(err);
    state.update({
      ...state.progress,
      phase: 'rolling_back',
      message: cancelled ? `rolling back: ${signals.rollback?.reason ?? 'requested'}` : `rolling back after: ${cause}`,
    });
    const failures = await compensations.runAll();
    sha256After = facts.sha256Before
      ? await CancellationScope.nonCancellable(() => fileQuick.migrationSourceChecksum({ sourcePath: facts.source }))
      : null;
    if (failures.length > 0) {
      // Not a clean rollback: say exactly what is left, with the SQL that finishes it.
      const left = failures.map((f, i) => `${i + 1}) ${f.name} failed (${f.message}); run: ${f.manual}`);
      facts.warnings.push(...left);
      return failWith(
        'rollback_incomplete',
        ErrorCode.RollbackIncomplete,
        `${cause}; the rollback is incomplete, left to do by hand: ${left.join(' ')}`,
      );
    }
    if (cancelled) {
      facts.rollbackReason = signals.rollback?.reason;
      await unstage();
      state.update({ phase: 'rolled_back', message: `rolled back: ${signals.rollback?.reason ?? 'requested'}` });
      const reports = await CancellationScope.nonCancellable(() =>
        fileQuick.migrationWriteReport({ report: reportData(facts, 'rolled_back', sha256After, null) }),
      );
      return migrationResult(facts, 'rolled_back', sha256After ?? '', reports);
    }
    return failWith('failed', rootType(err, ErrorCode.MigrationFailed), cause, '; the target was left as it was');
  }
}
