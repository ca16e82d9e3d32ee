/**
 * The lifecycle backstop against the stack's real MinIO, in buckets this test owns: applying it twice
 * writes once, a rule that is not dbops' own survives untouched, dbops' rule carries the right days, a
 * changed retention replaces dbops' rule in place, a missing bucket is BucketMissing. Each test sets the
 * configuration it starts from.
 */
import {
  DeleteBucketCommand,
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, ensureBucket } from '../../activities/s3/client';
import { applyLifecycleBackstop, backstopRule } from '../../activities/s3/lifecycle';
import { ErrorCode } from '../../common/errors';
import { testConfig, uniqueName } from '../support/temporal';

describe('S3 lifecycle backstop on MinIO', () => {
  const bucket = uniqueName('dbops-lifecycle');
  let s3: S3Client;

  const foreign: LifecycleRule = {
    ID: 'operator-logs',
    Status: 'Enabled',
    Filter: { Prefix: 'logs/' },
    Expiration: { Days: 3 },
  };

  async function rulesOfBucket(): Promise<LifecycleRule[]> {
    const out = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
    return out.Rules ?? [];
  }

  beforeAll(async () => {
    s3 = createS3Client(testConfig('unused').s3);
    expect(await ensureBucket(s3, bucket)).toBe(true);
  });
  afterAll(async () => {
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: bucket })).catch(() => undefined);
    await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    s3.destroy();
  });

  it('on a bucket with no configuration yet, adds dbops rules', async () => {
    const fresh = uniqueName('dbops-lifecycle');
    expect(await ensureBucket(s3, fresh)).toBe(true);
    try {
      const result = await applyLifecycleBackstop(s3, fresh, [backstopRule('backups/local_pg/', 30)]);
      expect(result.changed).toBe(true);
      const out = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: fresh }));
      expect(out.Rules?.map((r) => r.ID)).toEqual(['dbops-backups-backups/local_pg/']);
    } finally {
      await s3.send(new DeleteBucketLifecycleCommand({ Bucket: fresh })).catch(() => undefined);
      await s3.send(new DeleteBucketCommand({ Bucket: fresh }));
    }
  });

  it('applies once, is a no-op the second time, keeps the foreign rule, and replaces its own in place', async () => {
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [foreign] } }),
    );
    const rules = [backstopRule('backups/local_pg/', 30), backstopRule('backups/local_mysql/', 90)];

    const first = await applyLifecycleBackstop(s3, bucket, rules);
    expect(first.changed).toBe(true);
    const second = await applyLifecycleBackstop(s3, bucket, rules);
    expect(second.changed).toBe(false);

    const stored = await rulesOfBucket();
    expect(stored.map((r) => r.ID)).toEqual([
      'operator-logs',
      'dbops-backups-backups/local_pg/',
      'dbops-backups-backups/local_mysql/',
    ]);
    expect(stored[0]).toMatchObject({ Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 3 } });
    expect(stored[1]).toMatchObject({
      Status: 'Enabled',
      Filter: { Prefix: 'backups/local_pg/' },
      Expiration: { Days: 37 },
    });
    // MinIO accepts AbortIncompleteMultipartUpload and drops it (it purges stale uploads itself): the result
    // must say so rather than claim it is in place; a store that keeps it must hold 2 days.
    const abort = stored[1]?.AbortIncompleteMultipartUpload?.DaysAfterInitiation;
    if (abort === undefined) {
      expect(second.notKept).toEqual([
        'dbops-backups-backups/local_pg/: AbortIncompleteMultipartUpload',
        'dbops-backups-backups/local_mysql/: AbortIncompleteMultipartUpload',
      ]);
    } else {
      expect(abort).toBe(2);
      expect(second.notKept).toEqual([]);
    }
    expect(second.rules).toEqual(stored);
    expect(stored[2]).toMatchObject({ Filter: { Prefix: 'backups/local_mysql/' }, Expiration: { Days: 97 } });

    // A changed retention replaces dbops' rule in place; the rules not given are left alone.
    const third = await applyLifecycleBackstop(s3, bucket, [backstopRule('backups/local_pg/', 60)]);
    expect(third.changed).toBe(true);
    expect((await rulesOfBucket()).map((r) => [r.ID, r.Expiration?.Days])).toEqual([
      ['operator-logs', 3],
      ['dbops-backups-backups/local_pg/', 67],
      ['dbops-backups-backups/local_mysql/', 97],
    ]);
    expect((await applyLifecycleBackstop(s3, bucket, [backstopRule('backups/local_pg/', 60)])).changed).toBe(false);
  });

  it('a bucket that does not exist is BucketMissing, naming the bucket and the setting', async () => {
    const missing = uniqueName('dbops-no-such-bucket');
    await expect(applyLifecycleBackstop(s3, missing, [backstopRule('backups/x/', 30)])).rejects.toMatchObject({
      code: ErrorCode.BucketMissing,
      message: expect.stringMatching(new RegExp(`bucket ${missing} does not exist: create it or set s3\\.bucket`)),
    });
  });

  it('refuses an empty prefix before touching the bucket', async () => {
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [foreign] } }),
    );
    const before = await rulesOfBucket();
    await expect(applyLifecycleBackstop(s3, bucket, [backstopRule('', 30)])).rejects.toMatchObject({
      code: ErrorCode.BadInput,
      message: expect.stringMatching(/would expire the whole bucket/),
    });
    expect(await rulesOfBucket()).toEqual(before);
  });
});
