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
 *
 * Every step carries a one-line summary for the Web UI's timeline (`pg_dump local_pg: custom, plain, schema
 * + globals`, `verify local_pg/20261130T030000Z by restoring into a scratch database`), and the progress
 * has one item per target (steps done of the backup's steps, and its state). A run that fails tells the
 * operators (workflows/support/operator-alerts.ts) — except a child, whose parent reports it, and a nightly
 * run that already sent its own notification.
 */
import { ApplicationFailure, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BackupSettings, BackupTarget } from '../activities/backup/activities';
import type { Engine } from '../common/connection-ref';
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
import type { Progress, ProgressItem } from '../common/progress';
import { LONG_STEP, QUICK_STEP } from './support/activity-options';
import { rootOf } from './support/failures';
import { guardInput, JobState } from './support/job-state';
import { listNames, notifyOnFailure, runLink, sendOnChannels } from './support/operator-alerts';
import { StepRunner } from './support/steps';

// Each proxy takes the one-line summary the Web UI's timeline shows (user metadata: replay ignores it).
const quick = (summary: string) => proxyActivities<Activities>({ ...QUICK_STEP, summary });
const long = (summary: string) => proxyActivities<Activities>({ ...LONG_STEP, summary });
const pruning = (summary: string) =>
  proxyActivities<Activities>({ ...LONG_STEP, startToCloseTimeout: '1 hour', summary }).backupRetention;

/** `pg_dump local_pg: custom, plain, schema + globals`: what the dump step runs, in the operator's words. */
function dumpSummary(engine: Engine, label: string, formats: readonly string[]): string {
  switch (engine) {
    case 'postgres':
      return `pg_dump ${label}: ${formats.join(', ')} + globals`;
    case 'mysql':
      return `mariadb-dump ${label} (one consistent snapshot, gzip)`;
    case 'redis':
      return `RDB snapshot of ${label} (replica sync)`;
    case 'sqlite':
      return `online backup of ${label}`;
  }
}

/** `verify local_pg/… by restoring into a scratch database`: what a verification level does. */
function verifySummary(engine: Engine, backupId: string, level: VerifyLevel, uploaded: boolean): string {
  const copies = uploaded ? 'local and S3 copies' : 'local files';
  if (level === 'checksum') return `verify ${backupId}: sha256 of the ${copies}`;
  if (level === 'read') return `verify ${backupId}: sha256 of the ${copies}, then a full read of every file`;
  if (engine === 'redis') return `verify ${backupId} by loading it into a throwaway redis-server`;
  if (engine === 'sqlite') return `verify ${backupId}: integrity check and row counts of the copy`;
  return `verify ${backupId} by restoring into a scratch database`;
}

/** The steps of one target's backup, for its progress item. */
function backupSteps(upload: boolean): number {
  return upload ? 5 : 4; // prepare, dump, [upload,] commit, verify
}

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
  return notifyOnFailure({ what: () => `backup of ${input?.target ?? '(no target)'}` }, () => backupTarget(input));
}

async function backupTarget(input: BackupDatabaseInput): Promise<BackupDatabaseResult> {
  guardInput(input);
  const problems = inputProblems(backupDatabaseInputSchema, input);
  if (problems.length === 0) problems.push(...futureTimestampProblem(input.timestamp));
  if (problems.length > 0) throw badInput(problems);
  const state = new JobState('backup', [input.target], { phase: 'prepare', message: `preparing ${input.target}` });
  const steps = new StepRunner(state);
  const started = Date.now();
  // The target's progress item: steps done of the backup's steps, and what it is doing.
  const item: ProgressItem = { name: input.target, done: 0, total: 5, unit: 'steps', state: 'preparing' };
  const step = <T>(phase: string, message: string, doing: string, body: () => Promise<T>): Promise<T> =>
    steps.run(phase, message, async () => {
      item.state = doing;
      state.update({ ...state.progress, items: [{ ...item }] });
      const result = await body();
      item.done += 1;
      return result;
    });
  try {
    const settings = await quick(`settings and target ${input.target}`).backupSettings({ targets: [input.target] });
    const invalid = settings.invalid[0];
    if (invalid) throw ApplicationFailure.create({ ...invalid.error, nonRetryable: true });
    const target = settings.targets[0] as BackupTarget;
    const timestamp = input.timestamp ?? backupTimestamp(runInstant());
    const backupId = `${target.name}/${timestamp}`;
    const upload = input.upload ?? settings.upload;
    const formats = input.formats ?? settings.formats;
    item.name = target.name;
    item.total = backupSteps(upload);
    const prepared = await step('prepare', `checking ${backupId}`, 'preparing', () =>
      quick(`check ${backupId} is not already committed${upload ? ', and the bucket' : ''}`).backupPrepare({
        target: input.target,
        backupId,
        upload,
      }),
    );
    const base = { target: target.name, engine: target.engine, backupId };
    if (prepared.existing) {
      const m = prepared.existing;
      state.update({
        phase: 'completed',
        message: `${backupId} already exists (${m.verification.status}): reused`,
        items: [{ ...item, done: item.total, state: `reused (${m.verification.status})` }],
      });
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
    const dump = await step('dump', `dumping ${target.label}`, 'dumping', () =>
      long(dumpSummary(target.engine, target.label, formats)).backupDump({ target: input.target, backupId, formats }),
    );
    if (upload) {
      await step('upload', `uploading ${dump.files.length} file(s) of ${backupId}`, 'uploading', () =>
        long(`upload ${listNames(dump.files.map((f) => f.name))} of ${backupId} to S3`).backupUpload({ backupId }),
      );
    }
    const level: VerifyLevel =
      input.verify ??
      (settings.verify === 'auto'
        ? dump.totalBytes <= settings.restoreVerifyMaxBytes
          ? 'restore'
          : 'read'
        : settings.verify);
    await step('commit', `writing the manifest of ${backupId}`, 'committing', () =>
      quick(`write the manifest of ${backupId} (last: it commits the backup)`).backupCommit({
        backupId,
        target: input.target,
        takenAt: timestampToIso(timestamp),
        uploaded: upload,
        requested: level,
      }),
    );
    const verification = await step('verify', `verifying ${backupId} (${level})`, `verifying (${level})`, () =>
      long(verifySummary(target.engine, backupId, level, upload)).backupVerify({
        target: input.target,
        backupId,
        level,
      }),
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
      items: [{ ...item, state: `verified (${verification.level})` }],
    });
    return result;
  } catch (err) {
    state.update({
      ...state.progress,
      phase: 'failed',
      message: rootOf(err).message,
      items: [{ ...item, state: `failed (${item.state ?? 'preparing'})` }],
    });
    throw err;
  }
}

/** Backs up every target, applies retention, and notifies once. */
export async function nightlyBackup(input: NightlyBackupInput = {}): Promise<NightlyBackupResult> {
  // The night's own notification reports a failed target; a run that fails before it is sent alerts instead.
  const notified = { sent: false };
  return notifyOnFailure(
    {
      what: () => `nightly backup of ${input?.targets?.length ? listNames(input.targets) : 'the configured targets'}`,
      alreadyNotified: () => notified.sent,
    },
    () => nightly(input ?? {}, notified),
  );
}

async function nightly(input: NightlyBackupInput, notified: { sent: boolean }): Promise<NightlyBackupResult> {
  guardInput(input);
  const problems = inputProblems(nightlyBackupInputSchema, input);
  if (problems.length === 0) problems.push(...futureTimestampProblem(input.timestamp));
  if (problems.length > 0) throw badInput(problems);
  const state = new JobState('backup', input.targets ?? [], { phase: 'prepare', message: 'resolving targets' });
  const steps = new StepRunner(state);
  const started = Date.now();
  const instant = runInstant();
  const timestamp = input.timestamp ?? backupTimestamp(instant);
  // One progress item per target: steps of its backup done, and its state; kept through every later phase.
  let items: ProgressItem[] = [];
  const show = (next: Partial<Progress> = {}): void =>
    state.update({ ...state.progress, ...next, items: items.map((i) => ({ ...i })) });
  try {
    const settings = await quick(
      `settings and targets: ${input.targets?.length ? listNames(input.targets) : "the Schedule's or every connection"}`,
    ).backupSettings({ targets: input.targets });
    const total = settings.targets.length + settings.invalid.length;
    const perTarget = backupSteps(input.upload ?? settings.upload);
    items = [
      ...settings.targets.map((t): ProgressItem => ({
        name: t.name,
        done: 0,
        total: perTarget,
        unit: 'steps',
        state: 'backing up',
      })),
      ...settings.invalid.map((b): ProgressItem => ({
        name: b.name,
        done: 0,
        total: perTarget,
        unit: 'steps',
        state: `failed (${b.error.type})`,
      })),
    ];
    let done = 0;
    const backups = await steps.run('backup', `backing up ${total} target(s)`, () => {
      show({ done, total, unit: 'steps' });
      return Promise.all(
        settings.targets.map(async (target, i) => {
          const result = await backupOne(target, input, timestamp);
          done += 1;
          items[i] = { ...(items[i] as ProgressItem), ...itemOutcome(result, perTarget) };
          show({ message: `backed up ${done} of ${total}`, done, total, unit: 'steps' });
          return result;
        }),
      );
    });
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
        const dryRun = input.retentionDryRun ?? settings.retentionDryRun;
        const s3 = input.upload ?? settings.upload;
        retention = await steps.run('retention', `applying retention to ${succeeded.length} target(s)`, () => {
          show();
          return pruning(
            `retention${dryRun ? ' (dry run)' : ''}: ${listNames(succeeded)}, local${s3 ? ' and S3' : ''} copies`,
          )({ targets: succeeded, now: instant.toISOString(), dryRun, s3 });
        });
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
      result.notification = await steps.run('notify', 'sending the notification', () => {
        show();
        return notify(settings, result);
      });
      notified.sent = true;
    }
    result.durationMs = Date.now() - started;
    if (failed.length > 0) {
      state.update({
        phase: 'failed',
        message: `${failed.length} of ${total} backup(s) failed: ${failed.join(', ')}`,
        items,
      });
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
    state.update({
      phase: 'completed',
      message: `${total} backup(s) completed`,
      done: total,
      total,
      unit: 'steps',
      items,
    });
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
      staticSummary: `backup ${target.name} (${target.engine})`,
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

/** A finished target's progress item: all steps when it completed, the steps it got through when it failed. */
function itemOutcome(result: BackupDatabaseResult, total: number): Pick<ProgressItem, 'done' | 'state'> {
  if (result.status === 'completed')
    return { done: total, state: result.reused ? 'reused' : `verified (${result.verification?.level ?? 'none'})` };
  // A failed child's timings name the phases it entered, the last one being where it stopped.
  const phases = Object.keys(result.timings);
  const at = phases[phases.length - 1];
  return { done: Math.max(0, phases.length - 1), state: at ? `failed (${at})` : 'failed' };
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
    link: runLink(settings),
  };
  // A channel that cannot deliver is retried for a few minutes, then reported; it never fails the run.
  return sendOnChannels(settings.channels, message);
}
