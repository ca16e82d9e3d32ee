/**
 * Where backups live and how they are found: the folder `<target>/<timestamp>/` locally under
 * `<artifactDir>/<prefix>/` and in S3 under `<prefix>/`; `manifest.json` written last in each copy (a copy
 * without one is unfinished and is neither listed nor counted); listing reads manifests only, and reports
 * anything else under the prefix as foreign, never to be touched.
 */
import { type Dirent, existsSync } from 'node:fs';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { BACKUP_TIMESTAMP, type BackupManifest, MANIFEST_FILE, parseBackupId } from '../../common/contracts/backup';
import { DbopsError, ErrorCode } from '../../common/errors';
import type { DbopsConfig } from '../../config/load';
import { encryptionParams } from '../s3/transfer';

/** File in a local backup folder holding the dump's facts until the manifest is committed. */
export const PENDING_FILE = 'dump.json';

/** The local folder of a backup. */
export function localBackupDir(config: DbopsConfig, backupId: string): string {
  return join(config.artifactDir, config.backup.prefix, ...backupId.split('/'));
}

/** The S3 key of a file of a backup. */
export function s3Key(config: DbopsConfig, backupId: string, file: string): string {
  return `${config.backup.prefix}/${backupId}/${file}`;
}

/** Writes a JSON file atomically (temp file + rename). */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFile(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}

/** The local manifest of a backup, or undefined when there is no committed local copy. */
export async function readLocalManifest(config: DbopsConfig, backupId: string): Promise<BackupManifest | undefined> {
  const path = join(localBackupDir(config, backupId), MANIFEST_FILE);
  if (!existsSync(path)) return undefined;
  return JSON.parse(await readFile(path, 'utf8')) as BackupManifest;
}

/** Commits (or updates) the local manifest. */
export async function writeLocalManifest(config: DbopsConfig, manifest: BackupManifest): Promise<void> {
  await writeJsonAtomic(join(localBackupDir(config, manifest.backupId), MANIFEST_FILE), manifest);
}

/** The S3 manifest of a backup, or undefined when there is none. */
export async function readS3Manifest(
  client: S3Client,
  config: DbopsConfig,
  backupId: string,
): Promise<BackupManifest | undefined> {
  try {
    const object = await client.send(
      new GetObjectCommand({ Bucket: config.s3.bucket, Key: s3Key(config, backupId, MANIFEST_FILE) }),
    );
    return JSON.parse((await object.Body?.transformToString('utf-8')) ?? '') as BackupManifest;
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
    throw describeS3Error(err, config.s3.bucket);
  }
}

/** Commits (or updates) the S3 manifest; only ever called after every file of the backup is uploaded. */
export async function writeS3Manifest(client: S3Client, config: DbopsConfig, manifest: BackupManifest): Promise<void> {
  await client.send(
    new PutObjectCommand({
      Bucket: config.s3.bucket,
      Key: s3Key(config, manifest.backupId, MANIFEST_FILE),
      Body: JSON.stringify(manifest, null, 2),
      ContentType: 'application/json',
      ...encryptionParams(config.backup.sse),
    }),
  );
}

/** A backup found by listing, with where it was found. */
export interface ListedBackup {
  manifest: BackupManifest;
  location: 'local' | 's3';
}

/** What a listing found: committed backups, and entries that are not dbops backups (reported, never touched). */
export interface Listing {
  backups: ListedBackup[];
  foreign: string[];
  /** Backup folders without a manifest (unfinished or being written). */
  unfinished: string[];
}

/** Lists the local backups (of one target, or all). */
export async function listLocal(config: DbopsConfig, target?: string): Promise<Listing> {
  const root = join(config.artifactDir, config.backup.prefix);
  const result: Listing = { backups: [], foreign: [], unfinished: [] };
  let targets = target ? [target] : [];
  if (!target) {
    const entries = await entriesSafe(root);
    targets = entries.filter((d) => d.isDirectory()).map((d) => d.name);
    result.foreign.push(...entries.filter((d) => !d.isDirectory()).map((d) => join(root, d.name)));
  }
  for (const t of targets) {
    for (const entry of await entriesSafe(join(root, t))) {
      const stamp = entry.name;
      const id = `${t}/${stamp}`;
      // A file, or a folder not named like a timestamp, is not a backup: reported, never touched.
      if (!entry.isDirectory() || !parseBackupId(id)) {
        result.foreign.push(join(root, t, stamp));
        continue;
      }
      const manifest = await readLocalManifest(config, id).catch(() => undefined);
      if (manifest?.backupId === id) result.backups.push({ manifest, location: 'local' });
      else if (manifest) result.foreign.push(join(root, t, stamp));
      else result.unfinished.push(id);
    }
  }
  return result;
}

/** Lists the S3 backups (of one target, or all) from their manifests. */
export async function listS3(client: S3Client, config: DbopsConfig, target?: string): Promise<Listing> {
  const prefix = `${config.backup.prefix}/${target ? `${target}/` : ''}`;
  const folders = new Map<string, boolean>();
  const result: Listing = { backups: [], foreign: [], unfinished: [] };
  let token: string | undefined;
  do {
    const page = await client
      .send(new ListObjectsV2Command({ Bucket: config.s3.bucket, Prefix: prefix, ContinuationToken: token }))
      .catch((err: unknown) => {
        throw describeS3Error(err, config.s3.bucket);
      });
    for (const object of page.Contents ?? []) {
      const rest = (object.Key ?? '').slice(config.backup.prefix.length + 1);
      const parts = rest.split('/');
      const id = parts.slice(0, -1).join('/');
      if (parts.length !== 3 || !parseBackupId(id)) {
        result.foreign.push(object.Key ?? '');
        continue;
      }
      folders.set(id, (folders.get(id) ?? false) || parts[2] === MANIFEST_FILE);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  for (const [id, committed] of folders) {
    if (!committed) {
      result.unfinished.push(id);
      continue;
    }
    const manifest = await readS3Manifest(client, config, id).catch(() => undefined);
    if (manifest?.backupId === id) result.backups.push({ manifest, location: 's3' });
    else result.foreign.push(s3Key(config, id, MANIFEST_FILE));
  }
  return result;
}

/** Removes the S3 manifest of a backup (uncommits it), leaving its files for the next write or for retention. */
export async function deleteS3Manifest(client: S3Client, config: DbopsConfig, backupId: string): Promise<void> {
  await client.send(
    new DeleteObjectsCommand({
      Bucket: config.s3.bucket,
      Delete: { Objects: [{ Key: s3Key(config, backupId, MANIFEST_FILE) }] },
    }),
  );
}

/** Deletes a local backup folder: the manifest first, so a half-deleted folder is never a listed backup. */
export async function deleteLocal(config: DbopsConfig, backupId: string): Promise<void> {
  const dir = localBackupDir(config, backupId);
  await rm(join(dir, MANIFEST_FILE), { force: true });
  await rm(dir, { recursive: true, force: true });
}

/** Deletes an S3 backup: the manifest first (uncommitting it), then its files. */
export async function deleteS3(client: S3Client, config: DbopsConfig, backupId: string): Promise<void> {
  const manifestKey = s3Key(config, backupId, MANIFEST_FILE);
  await client.send(
    new DeleteObjectsCommand({ Bucket: config.s3.bucket, Delete: { Objects: [{ Key: manifestKey }] } }),
  );
  const page = await client.send(
    new ListObjectsV2Command({ Bucket: config.s3.bucket, Prefix: `${config.backup.prefix}/${backupId}/` }),
  );
  const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key ?? '' })).filter((k) => k.Key !== '');
  if (keys.length > 0) {
    await client.send(new DeleteObjectsCommand({ Bucket: config.s3.bucket, Delete: { Objects: keys } }));
  }
}

/** Turns the S3 errors an operator can fix into typed, non-retryable ones. */
export function describeS3Error(err: unknown, bucket: string): unknown {
  const name = (err as { name?: string }).name;
  if (name === 'NoSuchBucket') {
    return new DbopsError(
      ErrorCode.BucketMissing,
      `S3 bucket "${bucket}" does not exist: create it, or set s3.bucket (DBOPS_S3_BUCKET) to an existing bucket`,
    );
  }
  if (name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
    return new DbopsError(
      ErrorCode.BucketMissing,
      `S3 bucket "${bucket}" refused the configured credentials (${name}): check DBOPS_S3_ACCESS_KEY_ID / DBOPS_S3_SECRET_ACCESS_KEY and the bucket policy`,
    );
  }
  return err;
}

async function entriesSafe(path: string): Promise<Dirent[]> {
  try {
    return await readdir(path, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** True for a timestamp folder name. */
export function isBackupTimestamp(name: string): boolean {
  return BACKUP_TIMESTAMP.test(name);
}
