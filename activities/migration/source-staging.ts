/**
 * Scale-out of a migration (docs/architecture.md, "Scale out"): the source backup exists on one host, the
 * one that made it. After the backup it is staged in the object store under a content-addressed key, and a
 * chunk or verify activity that runs on another host reads a local copy fetched once from there (see
 * activities/s3/cache.ts). Each run that uses a staged object holds a marker beside it; the run's end
 * removes its marker, and the object with the last one.
 */
import { existsSync } from 'node:fs';
import type { S3Client } from '@aws-sdk/client-s3';
import { DbopsError, ErrorCode } from '../../common/errors';
import { sha256File } from '../files/sha256';
import type { ObjectCache } from '../s3/cache';
import { deleteKey, headObject, listKeys, putMarker } from '../s3/objects';
import { uploadFile } from '../s3/transfer';

/**
 * Where the source backup of a run is, as chunk and verify activities are told: the host that holds it and
 * its path there, its SHA-256, and the object it is staged as (null: not staged, every step that reads it
 * runs on that host). A path, a hash and a key: no data, no secret.
 */
export interface StagedSource {
  backupPath: string;
  sha256: string;
  stagedKey: string | null;
  hostId: string;
}

/** Key prefix of staged sources in the bucket (outside the backups' prefix, which retention owns). */
export const STAGING_PREFIX = 'staging/sqlite';

/** The staged object of a backup whose content hashes to `sha256`. */
export function stagedKeyOf(sha256: string): string {
  return `${STAGING_PREFIX}/${sha256}.db`;
}

/** The prefix of the markers of the runs that use a staged object. */
function markersOf(sha256: string): string {
  return `${STAGING_PREFIX}/${sha256}.runs/`;
}

function markerOf(sha256: string, workflowId: string): string {
  return `${markersOf(sha256)}${encodeURIComponent(workflowId)}`;
}

/** The task queue of the steps that must run on `hostId`: `<taskQueue>@<hostId>`. */
export function hostQueueOf(taskQueue: string, hostId: string): string {
  return `${taskQueue.split('@')[0]}@${hostId}`;
}

/** What staging did. */
export interface StageOutcome {
  stagedKey: string;
  /** False when the object was already there (another run staged the same content). */
  uploaded: boolean;
  bytes: number;
}

/** Stages the backup as `staging/sqlite/<sha256>.db` unless that object exists; marks it used by the run. */
export async function stageSource(
  client: S3Client,
  bucket: string,
  backupPath: string,
  sha256: string,
  workflowId: string,
): Promise<StageOutcome> {
  const key = stagedKeyOf(sha256);
  // The marker first: a run ending meanwhile sees it and keeps the object (see unstageSource).
  await putMarker(client, bucket, markerOf(sha256, workflowId));
  const head = await headObject(client, bucket, key);
  if (head && head.sha256 === sha256) return { stagedKey: key, uploaded: false, bytes: head.bytes };
  const sent = await uploadFile(client, bucket, key, backupPath);
  if (sent.sha256 !== sha256)
    throw new DbopsError(
      ErrorCode.ChecksumMismatch,
      `the source backup ${backupPath} hashes to ${sent.sha256}, recorded ${sha256} when it was made: was it written to? Run the migration again`,
    );
  return { stagedKey: key, uploaded: true, bytes: sent.bytes };
}

/**
 * Removes the run's marker and, when no other run's marker is left, the staged object. Should another run
 * have marked it between the listing and the delete (and skipped its upload because the object was there),
 * it is uploaded again from this host's backup, which has the same content.
 */
export async function unstageSource(
  client: S3Client,
  bucket: string,
  backupPath: string,
  sha256: string,
  workflowId: string,
): Promise<{ removed: boolean; usedBy: number }> {
  const key = stagedKeyOf(sha256);
  await deleteKey(client, bucket, markerOf(sha256, workflowId));
  const others = await listKeys(client, bucket, markersOf(sha256));
  if (others.length > 0) return { removed: false, usedBy: others.length };
  await deleteKey(client, bucket, key);
  const late = await listKeys(client, bucket, markersOf(sha256));
  if (late.length > 0 && existsSync(backupPath) && (await sha256File(backupPath)) === sha256) {
    await uploadFile(client, bucket, key, backupPath);
    return { removed: false, usedBy: late.length };
  }
  return { removed: true, usedBy: 0 };
}

/**
 * The path a chunk or verify activity reads: the backup itself on the host that made it (or when the run
 * did not stage it), else the cached copy of the staged object, fetched on first use.
 */
export async function localSource(
  backupPath: string,
  source: StagedSource | undefined,
  hostId: string,
  cache: ObjectCache,
): Promise<string> {
  if (!source?.stagedKey) return backupPath;
  if (source.hostId === hostId && existsSync(source.backupPath)) return source.backupPath;
  return cache.get(source.stagedKey, source.sha256, {
    suffix: '.db',
    fix: `the staged copy of the source backup ${source.backupPath} (host ${source.hostId}) is gone or damaged: delete the object if it exists and run the migration again (its backup step stages it anew)`,
  });
}
