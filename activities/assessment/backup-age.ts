/**
 * The durability finding every database gets from dbops' own records: how old its newest verified backup
 * is, read from the backup manifests (local and S3). Backups made by other tools are invisible here, and the
 * finding says so.
 */
import type { AssessedEngine, CheckResult } from '../../common/contracts/assessment';
import type { AssessmentRules } from '../../common/assessment/rules';
import type { DbopsConfig } from '../../config/load';
import { listLocal, listS3 } from '../backup/store';
import { createS3Client } from '../s3/client';

/** `backup.age` for the backups under `folder`, as of `now`. */
export async function backupAgeFinding(
  config: DbopsConfig,
  engine: AssessedEngine,
  target: string,
  folder: string,
  rules: AssessmentRules,
  now: number,
): Promise<CheckResult> {
  const base = {
    id: 'backup.age',
    engine,
    target,
    category: 'durability' as const,
    title: 'age of the newest verified backup',
    threshold: `warn > ${rules.backupAge.warnHours} h, critical > ${rules.backupAge.criticalHours} h`,
  };
  let takenAt: string[];
  try {
    const s3 = createS3Client(config.s3);
    try {
      const listed = [...(await listLocal(config, folder)).backups, ...(await listS3(s3, config, folder)).backups];
      takenAt = listed.filter((b) => b.manifest.verification.status === 'passed').map((b) => b.manifest.takenAt);
    } finally {
      s3.destroy();
    }
  } catch (err) {
    return {
      ...base,
      severity: 'unknown',
      value: null,
      evidence: `the backup manifests could not be read: ${(err as Error).message}`,
    };
  }
  const newest = takenAt.sort().at(-1);
  if (newest === undefined)
    return {
      ...base,
      severity: 'warning',
      value: null,
      evidence: `no verified dbops backup of ${folder} (backups made by other tools are not visible to this check)`,
      recommendation: 'schedule the nightly backup for this database (dbops schedule apply)',
    };
  const hours = (now - Date.parse(newest)) / 3_600_000;
  const severity =
    hours > rules.backupAge.criticalHours ? 'critical' : hours > rules.backupAge.warnHours ? 'warning' : 'ok';
  return {
    ...base,
    severity,
    value: Math.round(hours * 10) / 10,
    evidence: `newest verified backup ${folder} taken ${newest} (${hours.toFixed(1)} h ago)`,
    ...(severity === 'ok'
      ? {}
      : { recommendation: 'check the nightly backup Schedule and its last runs (dbops schedule list)' }),
  };
}
