/**
 * The backup activities: thin shells that resolve the target on the worker (passwords never leave it),
 * heartbeat, and call the step modules. Steps are idempotent: a dump restarts from an empty folder, an
 * upload skips objects already stored with the right SHA-256, a manifest write replaces the previous one.
 * The files of a backup live in the artifact folder of the worker host that dumped them, so all workers of
 * one task queue must share that folder (one host, or a shared volume).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { cancellationSignal, activityInfo } from '@temporalio/activity';
import {
  type BackupFile,
  type BackupFormat,
  type BackupManifest,
  backupTargetName,
  type RetentionReport,
  timestampToIso,
  type VerificationOutcome,
  type VerifyLevel,
} from '../../common/contracts/backup';
import type { Engine } from '../../common/connection-ref';
import { DbopsError, ErrorCode } from '../../common/errors';
import { notificationSecrets } from '../../config/load';
import { resolveTarget } from '../connections/resolve';
import type { ActivityDeps } from '../deps';
import { withFailureMapping } from '../failures';
import { keepAlive } from '../keep-alive';
import { sendEmail } from '../notify/email';
import type { NotificationMessage } from '../notify/message';
import { sendWebhook } from '../notify/webhook';
import { createS3Client } from '../s3/client';
import { applyLifecycleBackstop, backstopRule } from '../s3/lifecycle';
import { SHA256_METADATA, uploadFile } from '../s3/transfer';
import { dumpTarget, type DumpFacts } from './dump';
import { applyRetention } from './retention';
import { sourceAddress } from './dump';
import {
  deleteS3Manifest,
  describeS3Error,
  listLocal,
  listS3,
  localBackupDir,
  PENDING_FILE,
  readLocalManifest,
  readS3Manifest,
  s3Key,
  writeJsonAtomic,
  writeLocalManifest,
  writeS3Manifest,
} from './store';
import { verifyBackup } from './verify';
import { readFile } from 'node:fs/promises';
import { HeadBucketCommand } from '@aws-sdk/client-s3';

/** A target as the backup workflows see it. */
export interface BackupTarget {
  ref: string;
  /** Folder name of its backups (see backupTargetName). */
  name: string;
  label: string;
  engine: Engine;
}

/** The settings a backup workflow needs from the worker's configuration (workflows cannot read it). */
export interface BackupSettings {
  targets: BackupTarget[];
  /** References that could not be resolved (unknown connection, secret in the input…), with why. */
  invalid: { ref: string; name: string; error: { type: string; message: string } }[];
  formats: BackupFormat[];
  verify: 'auto' | VerifyLevel;
  restoreVerifyMaxBytes: number;
  upload: boolean;
  retentionDryRun: boolean;
  channels: ('webhook' | 'email')[];
  notifyOnSuccess: boolean;
  uiUrl: string;
  namespace: string;
}

/** Builds the backup activities around the worker's shared dependencies. */
export function createBackupActivities({ config, connections }: ActivityDeps) {
  let s3client: ReturnType<typeof createS3Client> | undefined;
  const s3 = () => (s3client ??= createS3Client(config.s3));
  const workflowId = () => activityInfo().workflowExecution?.workflowId ?? 'unknown-workflow';

  const readPending = async (backupId: string): Promise<DumpFacts> => {
    const path = join(localBackupDir(config, backupId), PENDING_FILE);
    if (!existsSync(path))
      throw new DbopsError(
        ErrorCode.BackupFailed,
        `the dump of ${backupId} is not in ${localBackupDir(config, backupId)} on this worker's host: the workers of one task queue must share the artifact folder (DBOPS_ARTIFACT_DIR); run the backup again`,
        { retryable: false },
      );
    return JSON.parse(await readFile(path, 'utf8')) as DumpFacts;
  };

  return {
    /** Resolves the targets (all of the Schedule's or every configured connection when none are given) and the settings. */
    async backupSettings(input: { targets?: string[] }): Promise<BackupSettings> {
      return withFailureMapping('backupSettings', async () => {
        const refs =
          input.targets && input.targets.length > 0
            ? input.targets
            : (config.schedules.nightlyBackup.targets ?? Object.keys(config.connections).sort());
        // A reference that cannot be resolved is reported as that target's failure; the others still run.
        const targets: BackupTarget[] = [];
        const invalid: { ref: string; name: string; error: { type: string; message: string } }[] = [];
        for (const ref of refs) {
          try {
            const t = resolveTarget(ref, config);
            targets.push({ ref, name: backupTargetName(ref), label: t.label, engine: t.engine });
          } catch (err) {
            if (!(err instanceof DbopsError)) throw err;
            invalid.push({ ref, name: backupTargetName(ref), error: { type: err.code, message: err.message } });
          }
        }
        const names = new Map<string, string>();
        for (const t of targets) {
          const other = names.get(t.name);
          if (other !== undefined)
            throw new DbopsError(
              ErrorCode.BadInput,
              `targets "${other}" and "${t.ref}" would both store their backups under "${t.name}": give one of them a connection name`,
            );
          names.set(t.name, t.ref);
        }
        const secrets = notificationSecrets();
        return {
          targets,
          invalid,
          formats: [...config.backup.formats],
          verify: config.backup.verify,
          restoreVerifyMaxBytes: config.backup.restoreVerifyMaxBytes,
          upload: config.backup.upload,
          retentionDryRun: config.backup.retention.dryRun,
          channels: [
            ...(secrets.webhookUrl ? (['webhook'] as const) : []),
            ...(config.notifications.email ? (['email'] as const) : []),
          ],
          notifyOnSuccess: config.notifications.onSuccess,
          uiUrl: config.temporal.uiUrl,
          namespace: config.temporal.namespace,
        };
      });
    },

    /**
     * Checks what a backup needs before anything is written (the bucket, when uploading) and whether this
     * backup id is already committed — then a retried or replayed run reuses it instead of making a second set.
     */
    async backupPrepare(input: {
      target: string;
      backupId: string;
      upload: boolean;
    }): Promise<{ existing?: BackupManifest }> {
      return withFailureMapping(`backupPrepare ${input.backupId}`, async () => {
        const target = resolveTarget(input.target, config);
        const address = sourceAddress(target);
        const folder = input.backupId.split('/')[0] ?? '';
        // One folder, one database: backups of another database under the same name would be counted by its
        // retention and restored as its `latest`.
        const foreign = [
          ...(await listLocal(config, folder)).backups,
          ...(input.upload ? (await listS3(s3(), config, folder)).backups : []),
        ].find((b) => b.manifest.source.address !== undefined && b.manifest.source.address !== address);
        if (foreign)
          throw new DbopsError(
            ErrorCode.BadInput,
            `the backups under "${folder}" are of ${foreign.manifest.source.address}, not of ${address ?? target.label}: give this target a connection name of its own`,
          );
        if (input.upload) {
          await s3()
            .send(new HeadBucketCommand({ Bucket: config.s3.bucket }))
            .catch((err: unknown) => {
              const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
              if (status === 404)
                throw describeS3Error(Object.assign(err as Error, { name: 'NoSuchBucket' }), config.s3.bucket);
              if (status === 403)
                throw describeS3Error(Object.assign(err as Error, { name: 'AccessDenied' }), config.s3.bucket);
              throw err;
            });
          const remote = await readS3Manifest(s3(), config, input.backupId);
          if (remote && remote.verification.status !== 'pending') return { existing: remote };
          // A manifest left pending by a run that died before verifying: uncommit it before the files it
          // lists are written again.
          if (remote) await deleteS3Manifest(s3(), config, input.backupId);
        }
        const local = await readLocalManifest(config, input.backupId);
        if (local && local.verification.status !== 'pending' && (!input.upload || local.s3)) return { existing: local };
        return {};
      });
    },

    /** Dumps the target into the backup's local folder (emptied first), heartbeating bytes written. */
    async backupDump(input: {
      target: string;
      backupId: string;
      formats: BackupFormat[];
    }): Promise<{ files: BackupFile[]; totalBytes: number; tables: number }> {
      return withFailureMapping(`backupDump ${input.backupId}`, async () => {
        const target = resolveTarget(input.target, config);
        const dir = localBackupDir(config, input.backupId);
        let current = { file: '', bytes: 0 };
        const facts = await keepAlive(
          () => ({ step: 'dump', ...current }),
          () =>
            dumpTarget(
              target,
              connections,
              dir,
              input.formats,
              (file, bytes) => (current = { file, bytes }),
              cancellationSignal(),
            ),
        );
        await writeJsonAtomic(join(dir, PENDING_FILE), facts);
        return {
          files: facts.files,
          totalBytes: facts.files.reduce((sum, f) => sum + f.bytes, 0),
          tables: Object.keys(facts.rowCounts ?? facts.keyCounts ?? {}).length,
        };
      });
    },

    /** Uploads every file of the backup (skipping objects already stored with the same SHA-256). */
    async backupUpload(input: {
      backupId: string;
    }): Promise<{ bucket: string; uploaded: string[]; skipped: string[] }> {
      return withFailureMapping(`backupUpload ${input.backupId}`, async () => {
        const facts = await readPending(input.backupId);
        const dir = localBackupDir(config, input.backupId);
        const uploaded: string[] = [];
        const skipped: string[] = [];
        let current = { file: '', bytesSent: 0 };
        await keepAlive(
          () => ({ step: 'upload', ...current }),
          async () => {
            for (const file of facts.files) {
              const key = s3Key(config, input.backupId, file.name);
              const head = await s3()
                .send(new HeadObjectCommand({ Bucket: config.s3.bucket, Key: key }))
                .catch(() => undefined);
              if (head?.Metadata?.[SHA256_METADATA] === file.sha256 && head.ContentLength === file.bytes) {
                skipped.push(file.name);
                continue;
              }
              current = { file: file.name, bytesSent: 0 };
              await uploadFile(
                s3(),
                config.s3.bucket,
                key,
                join(dir, file.name),
                (n) => (current = { file: file.name, bytesSent: n }),
                config.backup.sse,
              ).catch((err: unknown) => {
                throw describeS3Error(err, config.s3.bucket);
              });
              uploaded.push(file.name);
            }
          },
        );
        return { bucket: config.s3.bucket, uploaded, skipped };
      });
    },

    /** Writes the manifest — locally, then in S3 when uploaded — which commits the backup. */
    async backupCommit(input: {
      backupId: string;
      target: string;
      takenAt: string;
      uploaded: boolean;
      requested: VerifyLevel;
    }): Promise<BackupManifest> {
      return withFailureMapping(`backupCommit ${input.backupId}`, async () => {
        const facts = await readPending(input.backupId);
        const manifest: BackupManifest = {
          formatVersion: 1,
          backupId: input.backupId,
          target: input.backupId.split('/')[0] ?? input.target,
          takenAt: input.takenAt,
          workflowId: workflowId(),
          ...facts,
          verification: { level: 'none', requested: input.requested, status: 'pending', details: [] },
          ...(input.uploaded
            ? {
                s3: {
                  bucket: config.s3.bucket,
                  prefix: `${config.backup.prefix}/${input.backupId}/`,
                  ...(config.backup.sse.mode !== 'none' ? { serverSideEncryption: config.backup.sse.mode } : {}),
                },
              }
            : {}),
        };
        await writeLocalManifest(config, manifest);
        if (input.uploaded) await writeS3Manifest(s3(), config, manifest);
        return manifest;
      });
    },

    /** Verifies up to `level` and records the outcome in both manifests (a failure is an outcome, not an error). */
    async backupVerify(input: { target: string; backupId: string; level: VerifyLevel }): Promise<VerificationOutcome> {
      return withFailureMapping(`backupVerify ${input.backupId}`, async () => {
        const manifest = await readLocalManifest(config, input.backupId);
        if (!manifest)
          throw new DbopsError(
            ErrorCode.BackupFailed,
            `${input.backupId} has no local manifest on this worker's host`,
            {
              retryable: false,
            },
          );
        let current = 'start';
        const outcome = await keepAlive(
          () => ({ step: 'verify', check: current }),
          () =>
            verifyBackup(
              {
                config,
                manifest,
                source: resolveTarget(input.target, config),
                s3: manifest.s3 ? s3() : undefined,
                signal: cancellationSignal(),
                progress: (what) => (current = what),
              },
              input.level,
            ),
        );
        const updated = { ...manifest, verification: outcome };
        await writeLocalManifest(config, updated);
        if (manifest.s3) await writeS3Manifest(s3(), config, updated);
        return outcome;
      });
    },

    /**
     * Retention of the given targets, locally and in S3, plus the S3 lifecycle backstop. Targets whose backup
     * failed this run are not passed in: nothing of theirs is deleted tonight.
     */
    async backupRetention(input: {
      targets: string[];
      now: string;
      dryRun: boolean;
      s3: boolean;
    }): Promise<RetentionReport[]> {
      return withFailureMapping('backupRetention', async () => {
        const reports: RetentionReport[] = [];
        const { local, s3: remote } = config.backup.retention;
        let current = '';
        await keepAlive(
          () => ({ step: 'retention', target: current }),
          async () => {
            for (const target of input.targets) {
              current = target;
              reports.push(
                await applyRetention(config, 'local', target, local, { now: input.now, dryRun: input.dryRun }),
              );
              if (input.s3)
                reports.push(
                  await applyRetention(config, 's3', target, remote, {
                    now: input.now,
                    dryRun: input.dryRun,
                    s3: s3(),
                  }),
                );
            }
          },
        );
        if (input.s3 && !input.dryRun && remote.keepWithinDays > 0) {
          await applyLifecycleBackstop(s3(), config.s3.bucket, [
            backstopRule(
              config.backup.prefix,
              remote.keepWithinDays + config.backup.retention.lifecycleBackstopDays - 7,
            ),
          ]);
        }
        return reports;
      });
    },

    /** Sends one notification on one channel; failures are retried by the activity's policy and then reported. */
    async backupNotify(input: {
      channel: 'webhook' | 'email';
      message: NotificationMessage;
    }): Promise<{ channel: string; id?: string }> {
      return withFailureMapping(`backupNotify ${input.channel}`, async () => {
        const secrets = notificationSecrets();
        if (input.channel === 'webhook') {
          if (!secrets.webhookUrl)
            throw new DbopsError(ErrorCode.ConfigInvalid, 'DBOPS_NOTIFY_WEBHOOK_URL is not set on the worker');
          await sendWebhook(secrets.webhookUrl, input.message);
          return { channel: 'webhook' };
        }
        const email = config.notifications.email;
        if (!email)
          throw new DbopsError(ErrorCode.ConfigInvalid, 'notifications.email is not configured on the worker');
        const sent = await sendEmail({ ...email, password: secrets.smtpPassword }, input.message);
        return { channel: 'email', id: sent.messageId };
      });
    },
  };
}

/** The ISO instant of a backup id's timestamp. */
export function takenAtOf(backupId: string): string {
  return timestampToIso(backupId.split('/').pop() ?? '');
}
