/**
 * `restoreBackup`: restores one backup into one target.
 *
 * Phases: `locate` (the backup id, or a target's newest verified backup) → `prepare` (the target is checked
 * and nothing is touched: right engine, not the backup's own source unless `overwriteSource`, database there
 * unless `createDatabase`, empty unless `clean`) → `fetch` (an S3 copy downloaded and checked against the
 * manifest's SHA-256, a local copy re-hashed) → `restore` → `check` (row or key counts against the
 * manifest's) → `completed` | `failed`. Everything that can refuse a restore runs before the target is
 * written; a failure says whether the target was touched (and tells the operators,
 * workflows/support/operator-alerts.ts). Downloads are removed whatever the outcome. Each step carries a
 * one-line summary for the Web UI's timeline (`restore local_pg/20261130T030000Z into t_pg`).
 */
import { ApplicationFailure } from '@temporalio/common';
import { CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { LocatedBackup } from '../activities/restore/activities';
import { inputProblems, type RestoreInput, restoreInputSchema, type RestoreResult } from '../common/contracts/backup';
import { ErrorCode } from '../common/errors';
import { COMPENSATION_STEP, LONG_STEP, QUICK_STEP } from './support/activity-options';
import { rootOf } from './support/failures';
import { guardInput, JobState } from './support/job-state';
import { notifyOnFailure } from './support/operator-alerts';
import { StepRunner } from './support/steps';

// Each proxy takes the one-line summary the Web UI's timeline shows (user metadata: replay ignores it).
const quick = (summary: string) => proxyActivities<Activities>({ ...QUICK_STEP, summary });
const long = (summary: string) => proxyActivities<Activities>({ ...LONG_STEP, summary });
// Counting every table of a large database takes longer than a quick step allows: it heartbeats instead.
const counting = (summary: string) =>
  proxyActivities<Activities>({ ...LONG_STEP, startToCloseTimeout: '2 hours', summary });
const { restoreCleanup } = proxyActivities<Activities>({
  ...COMPENSATION_STEP,
  summary: 'remove the downloaded files',
});

/** Restores a backup (`<target>/<timestamp>` or `<target>:latest`) into `input.target`. */
export async function restoreBackup(input: RestoreInput): Promise<RestoreResult> {
  return notifyOnFailure(
    {
      what: () => `restore of ${input?.backup ?? '(no backup)'} into ${input?.target ?? '(no target)'}`,
      next: () => [`target: ${input?.target ?? '(none)'}`],
    },
    () => restore(input),
  );
}

async function restore(input: RestoreInput): Promise<RestoreResult> {
  guardInput(input);
  const problems = inputProblems(restoreInputSchema, input);
  if (problems.length > 0)
    throw ApplicationFailure.create({
      type: ErrorCode.BadInput,
      message: `invalid input: ${problems.join('; ')}`,
      nonRetryable: true,
    });
  const state = new JobState('restore', [input.target], { phase: 'locate', message: `looking for ${input.backup}` });
  const steps = new StepRunner(state);
  const started = Date.now();
  let located: LocatedBackup | undefined;
  let touched = false;
  try {
    const backup = await steps.run('locate', `looking for ${input.backup}`, () =>
      quick(`locate ${input.backup}${input.from ? ` in ${input.from}` : ''}`).restoreLocate({
        backup: input.backup,
        ...(input.from ? { from: input.from } : {}),
      }),
    );
    located = backup;
    const { backupId, engine } = backup;
    if (backup.verification.status === 'failed' && !input.allowUnverified) {
      throw ApplicationFailure.create({
        type: ErrorCode.RestoreRefused,
        message: `${backupId} failed its verification (${backup.verification.details[0] ?? 'see its manifest'}): it is known to be damaged or incomplete; restore another backup, or pass allowUnverified: true (CLI --allow-unverified) to restore it anyway (target was not touched)`,
        nonRetryable: true,
      });
    }
    const flags = {
      clean: input.clean ?? false,
      createDatabase: input.createDatabase ?? false,
      overwriteSource: input.overwriteSource ?? false,
    };
    await steps.run('prepare', `checking ${input.target} before restoring ${backupId}`, () =>
      quick(`check ${input.target} is safe to restore ${backupId} into`).restorePrepare({
        backupId,
        engine,
        ...(backup.sourceAddress ? { sourceAddress: backup.sourceAddress } : {}),
        target: input.target,
        kinds: backup.files.map((f) => f.kind),
        ...flags,
      }),
    );
    const { dir } = await steps.run(
      'fetch',
      backup.from === 's3' ? `downloading ${backup.files.length} file(s) of ${backupId}` : `checking ${backupId}`,
      () =>
        long(
          backup.from === 's3'
            ? `download ${backup.files.length} file(s) of ${backupId} from S3, check sha256`
            : `check the sha256 of ${backupId}'s ${backup.files.length} file(s)`,
        ).restoreFetch({ backupId, from: backup.from }),
    );
    touched = true;
    const applied = await steps.run('restore', `restoring ${backupId} into ${input.target}`, () =>
      long(`restore ${backupId} into ${input.target}`).restoreApply({
        backupId,
        dir,
        target: input.target,
        engine,
        jobs: input.jobs ?? 2,
        ...flags,
      }),
    );
    const { counts } = await steps.run('check', `comparing the counts of ${input.target} with ${backupId}`, () =>
      counting(`compare ${engine === 'redis' ? 'key' : 'row'} counts of ${input.target} with ${backupId}`).restoreCheck(
        { backupId, dir, target: input.target, engine },
      ),
    );
    state.update({
      phase: 'completed',
      message: `restored ${backupId} into ${input.target}: ${counts.length} ${engine === 'redis' ? 'database(s)' : 'table(s)'} match the backup`,
    });
    return {
      status: 'completed',
      backupId,
      target: input.target,
      engine,
      from: backup.from,
      createdDatabase: applied.createdDatabase,
      counts,
      durationMs: Date.now() - started,
    };
  } catch (err) {
    const root = rootOf(err);
    const where = touched ? `${input.target} may be partly restored` : `${input.target} was not touched`;
    state.update({ ...state.progress, phase: 'failed', message: root.message });
    if (isCancellation(err)) throw err;
    throw ApplicationFailure.create({
      type: root.type ?? ErrorCode.BackupFailed,
      message: /nothing was (touched|restored)|partly restored/.test(root.message)
        ? root.message
        : `${root.message} (${where})`,
      nonRetryable: true,
      cause: err instanceof Error ? err : undefined,
    });
  } finally {
    if (located?.from === 's3') {
      await CancellationScope.nonCancellable(() => restoreCleanup({})).catch(() => undefined);
    }
  }
}
