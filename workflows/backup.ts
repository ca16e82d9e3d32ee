/**
 * `nightlyBackup` and `backupDatabase`.
 *
 * `backupDatabase` backs up one target: prepare → dump → upload → commit (the manifest, written last) →
 * verify. Its id is `<target>/<UTC timestamp>`; when a committed manifest for that id already exists (a
 * retried or replayed run) the backup is reused, never taken twice.
 *
 * `nightlyBackup` runs one `backupDatabase` child per target — one failing database neither stops nor hides
 * the others — then retention (only for targets whose backup succeeded tonight), then one notification.
 * Started by a Schedule, its timestamp is the scheduled time, so a late or retried run still names the
 * night it stands for. It fails (after retention and the notification) when any target failed, with the
 * whole result in the failure's details.
 */
import { ApplicationFailure, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BackupSettings, BackupTarget } from '../activities/backup/activities';
import {
  type BackupDatabaseInput,
  backupDatabaseInputSchema,
  type BackupDatabaseResult,
  backupTimestamp,
  inputProblems,
  type NightlyBackupInput,
  nightlyBackupInputSchema,
  type NightlyBackupResult,
  type RetentionReport,
  timestampToIso,
  type VerifyLevel,
} from '../common/contracts/backup';
import { ErrorCode } from '../common/errors';
import { LONG_STEP, QUICK_STEP, STEP_RETRY } from './support/activity-options';
import { rootOf } from './support/failures';
import { guardInput, JobState } from './support/job-state';
import { StepRunner } from './support/steps';

const { backupSettings, backupPrepare, backupCommit } = proxyActivities<Activities>(QUICK_STEP);
const { backupDump, backupUpload, backupVerify } = proxyActivities<Activities>(LONG_STEP);
const { backupRetention } = proxyActivities<Activities>({ ...LONG_STEP, startToCloseTimeout: '1 hour' });
// A notification that cannot be delivered is retried for a few minutes, then reported; it never fails the run.
const { backupNotify } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { ...STEP_RETRY, maximumAttempts: 6 },
});

const scheduledStartKey = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** The instant this run stands for: the Schedule's time when a Schedule started it, else its start time. */
function runInstant(): Date {
  const info = workflowInfo();
  const scheduled = info.typedSearchAttributes.get(scheduledStartKey);
  return scheduled ?? info.startTime;
}

/** Refuses a timestamp later than this run: retention would keep it forever and `latest` would pick it. */
function futureTimestampProblem(timestamp: string | undefined): string[] {
  if (timestamp === undefined) return [];
  const at = Date.parse(timestampToIso(timestamp));
  return at > workflowInfo().startTime.getTime() + 5 * 60_000
    ? [`timestamp: ${timestamp} is later than this run started; a backup cannot be dated in the future`]
    : [];
}

function badInput(problems: string[]): ApplicationFailure {
  return ApplicationFailure.create({
    type: ErrorCode.BadInput,
    message: `invalid input: ${problems.join('; ')}`,
    nonRetryable: true,
  });
}

/** Backs up one database. */
export async function backupDatabase(input: BackupDatabaseInput): Promise<BackupDatabaseResult> {
  guardInput(input);
  const problems = inputProblems(backupDatabaseInputSchema, input);
  if (problems.length === 0) problems.push(...futureTimestampProblem(input.timestamp));
  if (problems.length > 0) throw badInput(problems);
  const state = new JobState('backup', [input.target], { phase: 'prepare', message: `preparing ${input.target}` });
  const steps = new StepRunner(state);
  const started = Date.now();
  try {
    const settings = await backupSettings({ targets: [input.target] });
    const invalid = settings.invalid[0];
    if (invalid) throw ApplicationFailure.create({ ...invalid.error, nonRetryable: true });
    const target = settings.targets[0] as BackupTarget;
    const timestamp = input.timestamp ?? backupTimestamp(runInstant());
    const backupId = `${target.name}/${timestamp}`;
    const upload = input.upload ?? settings.upload;
    const formats = input.formats ?? settings.formats;
    const prepared = await steps.run('prepare', `checking ${backupId}`, () =>
      backupPrepare({ target: input.target, backupId, upload }),
    );
    const base = { target: target.name, engine: target.engine, backupId };
    if (prepared.existing) {
      const m = prepared.existing;
      state.update({ phase: 'completed', message: `${backupId} already exists (${m.verification.status}): reused` });
      return {
        ...base,
        status: m.verification.status === 'failed' ? 'failed' : 'completed',
        files: m.files,
        totalBytes: m.files.reduce((s, f) => s + f.bytes, 0),
        verification: m.verification,
        uploaded: m.s3 !== undefined,
        reused: true,
        durationMs: Date.now() - started,
        timings: steps.timings,
      };
    }
    const dump = await steps.run('dump', `dumping ${target.label}`, () =>
      backupDump({ target: input.target, backupId, formats }),
    );
    if (upload) {
      await steps.run('upload', `uploading ${dump.files.length} file(s) of ${backupId}`, () =>
        backupUpload({ backupId }),
      );
    }
    const level: VerifyLevel =
      input.verify ??
      (settings.verify === 'auto'
        ? dump.totalBytes <= settings.restoreVerifyMaxBytes
          ? 'restore'
          : 'read'
        : settings.verify);
    await steps.run('commit', `writing the manifest of ${backupId}`, () =>
      backupCommit({
        backupId,
        target: input.target,
        takenAt: timestampToIso(timestamp),
        uploaded: upload,
        requested: level,
      }),
    );
    const verification = await steps.run('verify', `verifying ${backupId} (${level})`, () =>
      backupVerify({ target: input.target, backupId, level }),
    );
    const result: BackupDatabaseResult = {
      ...base,
      status: verification.status === 'passed' ? 'completed' : 'failed',
      files: dump.files,
      totalBytes: dump.totalBytes,
      verification,
      uploaded: upload,
      durationMs: Date.now() - started,
      timings: steps.timings,
    };
    if (verification.status !== 'passed') {
      throw ApplicationFailure.create({
        type: ErrorCode.BackupCorrupt,
        message: `${backupId} failed verification: ${verification.details[0] ?? 'unknown reason'}`,
        nonRetryable: true,
        details: [result],
      });
    }
    state.update({
      phase: 'completed',
      message: `${backupId}: ${dump.files.length} file(s), ${dump.totalBytes} bytes, verified (${verification.level})`,
    });
    return result;
  } catch (err) {
    state.update({ ...state.progress, phase: 'failed', message: rootOf(err).message });
    throw err;
  }
}

/** Backs up every target, applies retention, and notifies once. */
export async function nightlyBackup(input: NightlyBackupInput = {}): Promise<NightlyBackupResult> {
  guardInput(input);
  const problems = inputProblems(nightlyBackupInputSchema, input);
  if (problems.length === 0) problems.push(...futureTimestampProblem(input.timestamp));
  if (problems.length > 0) throw badInput(problems);
  const state = new JobState('backup', input.targets ?? [], { phase: 'prepare', message: 'resolving targets' });
  const steps = new StepRunner(state);
  const started = Date.now();
  const instant = runInstant();
  const timestamp = input.timestamp ?? backupTimestamp(instant);
  try {
    const settings = await backupSettings({ targets: input.targets });
    const total = settings.targets.length + settings.invalid.length;
    let done = 0;
    const backups = await steps.run('backup', `backing up ${total} target(s)`, () =>
      Promise.all(
        settings.targets.map(async (target) => {
          const result = await backupOne(target, input, timestamp);
          done += 1;
          state.update({ ...state.progress, message: `backed up ${done} of ${total}`, done, total });
          return result;
        }),
      ),
    );
    // A target that could not even be resolved is that target's failure, reported with the others.
    for (const bad of settings.invalid) {
      backups.push({
        status: 'failed',
        target: bad.name,
        files: [],
        totalBytes: 0,
        uploaded: false,
        durationMs: 0,
        timings: {},
        error: bad.error,
      });
    }
    const failed = backups.filter((b) => b.status === 'failed').map((b) => b.target);
    const succeeded = backups.filter((b) => b.status === 'completed').map((b) => b.target);
    let retention: RetentionReport[] = [];
    let retentionError: { type: string; message: string } | undefined;
    if (!input.skipRetention && succeeded.length > 0) {
      // A retention that fails is reported with the night's result; the backups it follows still count.
      try {
        retention = await steps.run('retention', `applying retention to ${succeeded.length} target(s)`, () =>
          backupRetention({
            targets: succeeded,
            now: instant.toISOString(),
            dryRun: input.retentionDryRun ?? settings.retentionDryRun,
            s3: input.upload ?? settings.upload,
          }),
        );
      } catch (err) {
        const root = rootOf(err);
        retentionError = { type: root.type ?? ErrorCode.BackupFailed, message: root.message };
      }
    }
    const result: NightlyBackupResult = {
      status: failed.length === 0 ? 'completed' : succeeded.length === 0 ? 'failed' : 'partial',
      timestamp,
      backups,
      failed,
      retention,
      ...(retentionError ? { retentionError } : {}),
      notification: { sent: [], failed: [] },
      durationMs: 0,
    };
    if (failed.length > 0 || retentionError || settings.notifyOnSuccess) {
      result.notification = await steps.run('notify', 'sending the notification', () => notify(settings, result));
    }
    result.durationMs = Date.now() - started;
    if (failed.length > 0) {
      state.update({ phase: 'failed', message: `${failed.length} of ${total} backup(s) failed: ${failed.join(', ')}` });
      throw ApplicationFailure.create({
        type: ErrorCode.BackupFailed,
        message: `${failed.length} of ${total} backup(s) failed: ${backups
          .filter((b) => b.error)
          .map((b) => `${b.target}: ${b.error?.message}`)
          .join('; ')}`,
        nonRetryable: true,
        details: [result],
      });
    }
    state.update({ phase: 'completed', message: `${total} backup(s) completed`, done: total, total });
    return result;
  } catch (err) {
    if (state.progress.phase !== 'failed')
      state.update({ ...state.progress, phase: 'failed', message: rootOf(err).message });
    throw err;
  }
}

/** Runs the child of one target; its failure becomes a failed entry, never an exception. */
async function backupOne(
  target: BackupTarget,
  input: NightlyBackupInput,
  timestamp: string,
): Promise<BackupDatabaseResult> {
  const childInput: BackupDatabaseInput = {
    target: target.ref,
    timestamp,
    ...(input.formats ? { formats: input.formats } : {}),
    ...(input.verify ? { verify: input.verify } : {}),
    ...(input.upload !== undefined ? { upload: input.upload } : {}),
  };
  try {
    return await executeChild(backupDatabase, {
      workflowId: `backup-${target.name}-${timestamp}`,
      args: [childInput],
    });
  } catch (err) {
    const root = rootOf(err);
    const details = failureDetails(err);
    return {
      status: 'failed',
      target: target.name,
      engine: target.engine,
      backupId: `${target.name}/${timestamp}`,
      files: details?.files ?? [],
      totalBytes: details?.totalBytes ?? 0,
      verification: details?.verification,
      uploaded: details?.uploaded ?? false,
      durationMs: details?.durationMs ?? 0,
      timings: details?.timings ?? {},
      error: { type: root.type ?? ErrorCode.BackupFailed, message: root.message },
    };
  }
}

/** The BackupDatabaseResult a failed child attached to its failure, if any. */
function failureDetails(err: unknown): BackupDatabaseResult | undefined {
  let current: unknown = err;
  for (let i = 0; i < 6 && current; i++) {
    if (current instanceof ApplicationFailure) return current.details?.[0] as BackupDatabaseResult | undefined;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Sends the summary on every configured channel; a channel that fails after its retries is reported. */
async function notify(
  settings: BackupSettings,
  result: NightlyBackupResult,
): Promise<NightlyBackupResult['notification']> {
  const info = workflowInfo();
  const failedCount = result.failed.length;
  const deleted = result.retention.reduce((n, r) => n + r.deleted.length, 0);
  const message = {
    subject:
      failedCount > 0
        ? `dbops backup ${result.timestamp}: ${failedCount} of ${result.backups.length} FAILED`
        : `dbops backup ${result.timestamp}: ${result.backups.length} backup(s) verified`,
    status:
      failedCount > 0 ? ('failure' as const) : result.retentionError ? ('warning' as const) : ('success' as const),
    summary:
      `${result.backups.length - failedCount} of ${result.backups.length} backup(s) completed; retention deleted ${deleted} backup(s).` +
      (result.retentionError
        ? ` Retention failed: ${result.retentionError.type} ${result.retentionError.message}`
        : ''),
    lines: result.backups.map((b) =>
      b.status === 'completed'
        ? `${b.target}: ok — ${b.backupId}, ${b.files.length} file(s), ${b.totalBytes} bytes, verified (${b.verification?.level ?? 'none'})${b.reused ? ', reused' : ''}`
        : `${b.target}: FAILED — ${b.error?.type ?? ''} ${b.error?.message ?? ''}`.trim(),
    ),
    link: `${settings.uiUrl}/namespaces/${settings.namespace}/workflows/${encodeURIComponent(info.workflowId)}`,
  };
  const sent: string[] = [];
  const failed: { channel: string; error: string }[] = [];
  await Promise.all(
    settings.channels.map(async (channel) => {
      try {
        await backupNotify({ channel, message });
        sent.push(channel);
      } catch (err) {
        failed.push({ channel, error: rootOf(err).message });
      }
    }),
  );
  return { sent: sent.sort(), failed };
}
