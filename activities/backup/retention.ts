/**
 * Retention of one target's backups in one location: list the committed backups (manifests only), let the
 * pure policy decide (common/retention.ts), delete what it says — manifest first — unless this is a dry run.
 * Anything under the prefix that is not a dbops backup is reported as ignored and never deleted.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { RetentionReport } from '../../common/contracts/backup';
import { planRetention, type RetentionCandidate, type RetentionPolicy } from '../../common/retention';
import type { DbopsConfig } from '../../config/load';
import { deleteLocal, deleteS3, type Listing, listLocal, listS3 } from './store';

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
  return {
    location,
    target,
    dryRun: options.dryRun,
    decisions,
    deleted,
    ignored: [...listing.foreign, ...listing.unfinished.map((id) => `${id} (no manifest: unfinished, left alone)`)],
  };
}
