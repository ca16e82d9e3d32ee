/**
 * `dbops backup [targets…]` starts `nightlyBackup` (every target's backup, retention, one notification);
 * `dbops backups list` reads the manifests, locally and in S3, and shows what exists, how old, how big, how
 * verified, and what retention would decide about it today.
 */
import type { Command } from 'commander';
import { createS3Client } from '../../../activities/s3/client';
import { applyRetention } from '../../../activities/backup/retention';
import { type ListedBackup, listLocal, listS3 } from '../../../activities/backup/store';
import {
  NIGHTLY_BACKUP_WORKFLOW,
  inputProblems,
  type NightlyBackupInput,
  nightlyBackupInputSchema,
  type NightlyBackupResult,
  VERIFY_LEVELS,
} from '../../../common/contracts/backup';
import { DbopsError, ErrorCode } from '../../../common/errors';
import type { CliContext, CommandRunner } from '../context';
import { ExitCode, formatBytes, printJson, say, warn } from '../output';
import { startWorkflow, withStartFlags, type StartFlags } from '../start-workflow';

interface BackupFlags extends StartFlags {
  formats?: string;
  verify?: string;
  upload: boolean;
  retention: boolean;
  dryRunRetention?: boolean;
}

/** Registers `backup` and `backups`. */
export function registerBackup(program: Command, ctx: CliContext, run: CommandRunner): void {
  withStartFlags(
    program
      .command('backup')
      .description('back up databases (dump, checksum, upload, manifest, verify), then retention and a notification')
      .argument('[targets...]', "connection names, URLs without passwords or SQLite paths (default: the Schedule's)")
      .option('--formats <list>', 'PostgreSQL dump formats: custom,plain,schema (default: config backup.formats)')
      .option(
        '--verify <level>',
        `highest verification: ${VERIFY_LEVELS.join('|')} (default: restore when small enough)`,
      )
      .option('--no-upload', 'keep the backup local (no S3 copy)')
      .option('--no-retention', 'skip retention this run')
      .option('--dry-run-retention', 'report what retention would delete, delete nothing'),
  ).action((targets: string[], flags: BackupFlags) =>
    run(async () => {
      const input: NightlyBackupInput = {
        ...(targets.length > 0 ? { targets } : {}),
        ...(flags.formats !== undefined ? { formats: split(flags.formats) as NightlyBackupInput['formats'] } : {}),
        ...(flags.verify !== undefined ? { verify: flags.verify as NightlyBackupInput['verify'] } : {}),
        ...(flags.upload === false ? { upload: false } : {}),
        ...(flags.retention === false ? { skipRetention: true } : {}),
        ...(flags.dryRunRetention ? { retentionDryRun: true } : {}),
      };
      const problems = inputProblems(nightlyBackupInputSchema, input);
      if (problems.length > 0)
        throw new DbopsError(ErrorCode.BadInput, `refused before starting: ${problems.join('; ')}`);
      return startWorkflow<NightlyBackupInput, NightlyBackupResult>(ctx, flags, {
        workflowType: NIGHTLY_BACKUP_WORKFLOW,
        idPrefix: 'backup',
        summary: `backup ${input.targets?.length ? input.targets.join(', ') : 'the configured targets'}`,
        input,
        render: renderNightly,
      });
    }),
  );

  program
    .command('backups')
    .description('backups and what retention decides about them')
    .command('list')
    .description('list backups from their manifests, locally and in S3')
    .option('--target <name>', 'only this target (folder name, e.g. local_pg)')
    .option('--json', 'print exactly one JSON object on stdout')
    .action((flags: { target?: string; json?: boolean }) =>
      run(async () => {
        const config = ctx.config;
        const local = await listLocal(config, flags.target);
        const s3 = createS3Client(config.s3);
        let remote;
        try {
          remote = await listS3(s3, config, flags.target);
        } catch (err) {
          warn(`S3 listing failed: ${(err as Error).message}`);
          remote = { backups: [], foreign: [], unfinished: [] };
        }
        // What retention would decide today (a dry run of each location's policy).
        const now = new Date().toISOString();
        const reasons = new Map<string, string>();
        const targets = new Set([...local.backups, ...remote.backups].map((b) => b.manifest.target));
        for (const target of targets) {
          for (const location of ['local', 's3'] as const) {
            const policy = config.backup.retention[location];
            const report = await applyRetention(config, location, target, policy, { now, dryRun: true, s3 }).catch(
              () => undefined,
            );
            for (const d of report?.decisions ?? [])
              reasons.set(`${location}:${d.id}`, `${d.action}: ${d.reasons.join(', ') || 'no rule keeps it'}`);
          }
        }
        s3.destroy();
        const rows = [...local.backups, ...remote.backups]
          .map((b: ListedBackup) => ({
            backupId: b.manifest.backupId,
            location: b.location,
            engine: b.manifest.engine,
            takenAt: b.manifest.takenAt,
            ageHours: Math.round((Date.parse(now) - Date.parse(b.manifest.takenAt)) / 36e5),
            bytes: b.manifest.files.reduce((s, f) => s + f.bytes, 0),
            files: b.manifest.files.map((f) => f.name),
            verification: `${b.manifest.verification.status} (${b.manifest.verification.level})`,
            retention: reasons.get(`${b.location}:${b.manifest.backupId}`) ?? '',
          }))
          .sort((a, b) => b.takenAt.localeCompare(a.takenAt) || a.location.localeCompare(b.location));
        const ignored = [...local.foreign, ...remote.foreign];
        const unfinished = [
          ...local.unfinished.map((id) => `local:${id}`),
          ...remote.unfinished.map((id) => `s3:${id}`),
        ];
        if (flags.json) printJson({ backups: rows, unfinished, ignored });
        else {
          if (rows.length === 0) say('no backups');
          for (const r of rows)
            say(
              `${r.backupId.padEnd(40)} ${r.location.padEnd(5)} ${r.engine.padEnd(8)} ${String(r.ageHours).padStart(5)} h  ${formatBytes(r.bytes).padStart(9)}  ${r.verification.padEnd(20)} ${r.retention}`,
            );
          for (const u of unfinished) say(`unfinished (no manifest): ${u}`);
          for (const i of ignored) say(`ignored (not a dbops backup): ${i}`);
        }
        return ExitCode.Ok;
      }),
    );
}

function renderNightly(result: NightlyBackupResult): string[] {
  return [
    `${result.status}: backup ${result.timestamp}`,
    ...result.backups.map((b) =>
      b.status === 'completed'
        ? `  ok   ${b.target.padEnd(24)} ${b.backupId}  ${b.files.length} file(s) ${formatBytes(b.totalBytes)}  verified: ${b.verification?.level}${b.reused ? ' (reused)' : ''}`
        : `  FAIL ${b.target.padEnd(24)} ${b.error?.type}: ${b.error?.message}`,
    ),
    ...result.retention.flatMap((r) =>
      r.deleted.map((id) => `  retention (${r.location}): deleted ${id}${r.dryRun ? ' (dry run)' : ''}`),
    ),
    `  notification: sent ${result.notification.sent.join(', ') || 'none'}${result.notification.failed.length ? `; failed ${result.notification.failed.map((f) => f.channel).join(', ')}` : ''}`,
  ];
}

function split(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
