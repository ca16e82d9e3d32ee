/**
 * The S3 lifecycle backstop behind backup retention. dbops deletes expired backups itself, exactly, from the
 * retention plan (common/retention.ts); should that job stop running (worker gone, bug, lost credentials),
 * a bucket lifecycle rule per backup prefix still expires objects some days after the retention and aborts
 * multipart uploads left incomplete by a crashed upload, so storage cannot grow without bound.
 *
 * Applied idempotently: the bucket's current configuration is read, rules with IDs other than the ones
 * given (the operator's, another tool's) are kept as they are and in order, the given rules replace their
 * namesakes in place or are appended, and the configuration is written only when something differs (S3 has
 * no per-rule API: a put replaces the whole configuration).
 *
 * Some stores accept an action and silently drop it: MinIO does so with AbortIncompleteMultipartUpload (it
 * purges stale uploads itself after 24 h; minio/minio#19115, "working as intended"). So after a write the
 * configuration is read back: `changed` says whether the stored configuration actually changed, and
 * `notKept` names what the store did not keep. On such a store every apply rewrites the same configuration
 * (harmless) and reports changed=false once it has converged.
 */
import {
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DbopsError, ErrorCode } from '../../common/errors';

/** One dbops lifecycle rule: objects under `prefix` expire after `expireAfterDays`. */
export interface BackstopRule {
  /** Rule ID; rules of the bucket with this ID are dbops' own and replaced. */
  id: string;
  /** Key prefix the rule applies to; never empty (an empty prefix would expire the whole bucket). */
  prefix: string;
  expireAfterDays: number;
  abortIncompleteAfterDays: number;
}

/** What {@link applyLifecycleBackstop} did. */
export interface LifecycleBackstopResult {
  /** True when the bucket's stored configuration is now different from before. */
  changed: boolean;
  /** The bucket's rules as they now are (foreign ones included). */
  rules: LifecycleRule[];
  /** What the store accepted but did not keep, as `<rule ID>: <part>` (e.g. MinIO's AbortIncompleteMultipartUpload). */
  notKept: string[];
}

/** Days the backstop waits after the exact retention before S3 expires an object itself. */
export const BACKSTOP_GRACE_DAYS = 7;

/** Days after which S3 aborts a multipart upload nobody completed (a crashed upload's parts cost storage). */
export const ABORT_INCOMPLETE_DAYS = 2;

/** The backstop rule of a prefix kept `retentionDays`: ID `dbops-backups-<prefix>`, expiry retention + 7 days. */
export function backstopRule(prefix: string, retentionDays: number): BackstopRule {
  return {
    id: `dbops-backups-${prefix}`,
    prefix,
    expireAfterDays: retentionDays + BACKSTOP_GRACE_DAYS,
    abortIncompleteAfterDays: ABORT_INCOMPLETE_DAYS,
  };
}

function ruleProblems(rules: BackstopRule[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const rule of rules) {
    if (!rule.id || rule.id.length > 255)
      problems.push(`rule ID ${JSON.stringify(rule.id)} must be 1 to 255 characters`);
    if (seen.has(rule.id)) problems.push(`rule ID ${JSON.stringify(rule.id)} is given twice`);
    seen.add(rule.id);
    if (!rule.prefix) problems.push(`rule ${rule.id}: the prefix is empty, which would expire the whole bucket`);
    for (const [field, value] of [
      ['expireAfterDays', rule.expireAfterDays],
      ['abortIncompleteAfterDays', rule.abortIncompleteAfterDays],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        problems.push(`rule ${rule.id}: ${field} must be a whole number ≥ 1, got ${JSON.stringify(value)}`);
      }
    }
  }
  return problems;
}

function toLifecycleRule(rule: BackstopRule): LifecycleRule {
  return {
    ID: rule.id,
    Status: 'Enabled',
    Filter: { Prefix: rule.prefix },
    Expiration: { Days: rule.expireAfterDays },
    AbortIncompleteMultipartUpload: { DaysAfterInitiation: rule.abortIncompleteAfterDays },
  };
}

/**
 * The parts of a rule that decide what it does, in a fixed shape: two rules with the same canonical form
 * behave the same whatever defaults (empty lists, `false` flags) the store echoes back.
 */
function canonical(rule: LifecycleRule): string {
  const filter = rule.Filter ?? {};
  return JSON.stringify({
    id: rule.ID ?? null,
    status: rule.Status ?? null,
    prefix: filter.Prefix ?? filter.And?.Prefix ?? rule.Prefix ?? '',
    tag: filter.Tag ?? filter.And?.Tags ?? null,
    sizeGreater: filter.ObjectSizeGreaterThan ?? filter.And?.ObjectSizeGreaterThan ?? null,
    sizeLess: filter.ObjectSizeLessThan ?? filter.And?.ObjectSizeLessThan ?? null,
    expirationDays: rule.Expiration?.Days ?? null,
    expirationDate: rule.Expiration?.Date ? new Date(rule.Expiration.Date).toISOString() : null,
    expiredDeleteMarker: rule.Expiration?.ExpiredObjectDeleteMarker ?? false,
    abortDays: rule.AbortIncompleteMultipartUpload?.DaysAfterInitiation ?? null,
    transitions: rule.Transitions?.length ? rule.Transitions : null,
    noncurrentExpiration: rule.NoncurrentVersionExpiration?.NoncurrentDays ?? null,
    noncurrentTransitions: rule.NoncurrentVersionTransitions?.length ? rule.NoncurrentVersionTransitions : null,
  });
}

function sameRules(a: LifecycleRule[], b: LifecycleRule[]): boolean {
  return a.length === b.length && a.every((rule, i) => b[i] !== undefined && canonical(rule) === canonical(b[i]));
}

function errorName(err: unknown): string | undefined {
  const e = err as { name?: string; Code?: string };
  return e.Code ?? e.name;
}

/** Turns "no bucket" and "not allowed" into BucketMissing with the fix; other errors pass through. */
function bucketError(err: unknown, bucket: string, action: string): unknown {
  const name = errorName(err);
  if (name === 'NoSuchBucket') {
    return new DbopsError(
      ErrorCode.BucketMissing,
      `bucket ${bucket} does not exist: create it or set s3.bucket (DBOPS_S3_BUCKET) to an existing bucket`,
      { cause: err },
    );
  }
  if (name === 'AccessDenied' || name === 'AccessDeniedException' || name === 'Forbidden') {
    return new DbopsError(
      ErrorCode.BucketMissing,
      `bucket ${bucket}: access denied to ${action}: grant the worker's credentials s3:GetLifecycleConfiguration and s3:PutLifecycleConfiguration on arn:aws:s3:::${bucket}`,
      { cause: err },
    );
  }
  return err;
}

/** The bucket's lifecycle rules; none when it has no configuration. */
async function currentRules(client: S3Client, bucket: string): Promise<LifecycleRule[]> {
  try {
    const out = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
    return out.Rules ?? [];
  } catch (err) {
    if (errorName(err) === 'NoSuchLifecycleConfiguration') return [];
    throw bucketError(err, bucket, 'read its lifecycle configuration');
  }
}

/**
 * Makes the bucket's lifecycle hold `rules` (replacing rules with the same IDs, keeping all others), writing
 * the configuration only when it differs, then reading back what the store kept. BucketMissing when the
 * bucket is absent or the credentials may not read or write its lifecycle; BadInput when a rule is invalid.
 */
export async function applyLifecycleBackstop(
  client: S3Client,
  bucket: string,
  rules: BackstopRule[],
): Promise<LifecycleBackstopResult> {
  const problems = ruleProblems(rules);
  if (problems.length > 0) {
    throw new DbopsError(ErrorCode.BadInput, `lifecycle rules for bucket ${bucket}: ${problems.join('; ')}`);
  }
  const current = await currentRules(client, bucket);
  const wanted = new Map(rules.map((rule) => [rule.id, toLifecycleRule(rule)]));
  const next: LifecycleRule[] = [];
  for (const rule of current) {
    const replacement = rule.ID === undefined ? undefined : wanted.get(rule.ID);
    if (replacement === undefined) {
      next.push(rule);
    } else if (!next.includes(replacement)) {
      next.push(replacement);
    }
  }
  for (const rule of wanted.values()) if (!next.includes(rule)) next.push(rule);

  if (sameRules(next, current)) return { changed: false, rules: current, notKept: notKept(wanted, current) };
  try {
    await client.send(
      new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: next } }),
    );
  } catch (err) {
    throw bucketError(err, bucket, 'write its lifecycle configuration');
  }
  const stored = await currentRules(client, bucket);
  return { changed: !sameRules(stored, current), rules: stored, notKept: notKept(wanted, stored) };
}

/** The parts of the wanted rules that the stored configuration lacks or holds differently. */
function notKept(wanted: Map<string, LifecycleRule>, stored: LifecycleRule[]): string[] {
  const missing: string[] = [];
  for (const [id, rule] of wanted) {
    const got = stored.find((r) => r.ID === id);
    if (got === undefined) {
      missing.push(`${id}: the whole rule`);
      continue;
    }
    const parts = {
      Status: [rule.Status, got.Status],
      Filter: [rule.Filter?.Prefix, got.Filter?.Prefix ?? got.Filter?.And?.Prefix ?? got.Prefix],
      Expiration: [rule.Expiration?.Days, got.Expiration?.Days],
      AbortIncompleteMultipartUpload: [
        rule.AbortIncompleteMultipartUpload?.DaysAfterInitiation,
        got.AbortIncompleteMultipartUpload?.DaysAfterInitiation,
      ],
    };
    for (const [part, [want, have]] of Object.entries(parts)) if (want !== have) missing.push(`${id}: ${part}`);
  }
  return missing;
}
