/**
 * Retention of one target's backups in one location: list the committed backups (manifests only), let the
 * pure policy decide (common/retention.ts), delete what it says — manifest first — unless this is a dry run.
 * Anything under the prefix that is not a dbops backup is reported as ignored and never deleted. A backup
 * folder that never got its manifest (a run that died) is removed once it is two days old: no run still
 * writes it, and nothing ever counted it.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { parseBackupId, type RetentionReport, timestampToIso } from '../../common/contracts/backup';
import { planRetention, type RetentionCandidate, type RetentionPolicy } from '../../common/retention';
import type { DbopsConfig } from '../../config/load';
import { deleteLocal, deleteS3, type Listing, listLocal, listS3 } from './store';

/** How old an unfinished backup folder must be before retention removes it. */
const UNFINISHED_GRACE_MS = 2 * 86_400_000;

/** Applies `policy` to the backups of `target` in `location`. */
export async function applyRetention(
  config: DbopsConfig,
  location: 'local' | 's3',
  target: string,
  policy: RetentionPolicy,
  options: { now: string; dryRun: boolean; s3?: S3Client },
): Promise<RetentionReport> {
  const listing: Listing =
    location === 'local' ? await listLocal(config, target) : await listS3(options.s3 as S3Client, config, target);
  const candidates: RetentionCandidate[] = listing.backups.map(({ manifest }) => ({
    id: manifest.backupId,
    takenAt: manifest.takenAt,
    status:
      manifest.verification.status === 'failed'
        ? 'bad'
        : manifest.verification.status === 'passed'
          ? 'verified'
          : 'unverified',
  }));
  const decisions = planRetention(candidates, policy, options.now);
  const deleted: string[] = [];
  if (!options.dryRun) {
    for (const decision of decisions.filter((d) => d.action === 'delete')) {
      if (location === 'local') await deleteLocal(config, decision.id);
      else await deleteS3(options.s3 as S3Client, config, decision.id);
      deleted.push(decision.id);
    }
  }
  const staleBefore = Date.parse(options.now) - UNFINISHED_GRACE_MS;
  const stale = listing.unfinished.filter((id) => {
    const parsed = parseBackupId(id);
    return parsed !== undefined && Date.parse(timestampToIso(parsed.timestamp)) < staleBefore;
  });
  if (!options.dryRun) {
    for (const id of stale) {
      if (location === 'local') await deleteLocal(config, id);
      else await deleteS3(options.s3 as S3Client, config, id);
    }
  }
  return {
    location,
    target,
    dryRun: options.dryRun,
    decisions,
    deleted,
    unfinishedRemoved: stale,
    ignored: [
      ...listing.foreign,
      ...listing.unfinished
        .filter((id) => !stale.includes(id))
        .map((id) => `${id} (no manifest: unfinished, left alone)`),
    ],
  };
}
