/** The shape of a validated dbops configuration, and the rules each option must meet. */
import { z } from 'zod';
import { CONNECTION_NAME, engineOfUrl, SUPPORTED_SCHEMES } from '../common/connection-ref';
import { stringHasSecret } from '../common/secret-guard';

const hostPort = z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:7233');

const httpUrl = z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL');

const connectionUrl = z
  .string()
  .refine((url) => engineOfUrl(url) !== undefined, {
    message: `must be a URL with one of the schemes ${SUPPORTED_SCHEMES.join(', ')}`,
  })
  .refine((url) => !stringHasSecret(url), {
    message: 'must not contain a password: set DBOPS_PASSWORD_<NAME> in the worker environment instead',
  });

/** True for a time zone name `Intl` knows. */
function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const retentionPolicy = z
  .object({
    keepWithinDays: z.number().int().min(0).max(36500),
    gfs: z
      .object({
        daily: z.number().int().min(0).optional(),
        weekly: z.number().int().min(0).optional(),
        monthly: z.number().int().min(0).optional(),
        yearly: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
    minKeep: z.number().int().min(0).optional(),
    timeZone: z.string().refine(isTimeZone, { message: 'must be an IANA time zone' }).optional(),
  })
  .strict();

/** Validates the merged (defaults + file + environment) configuration. */
export const configSchema = z
  .object({
    temporal: z
      .object({
        address: hostPort,
        namespace: z.string().regex(/^[A-Za-z0-9._-]{1,255}$/, 'must be a Temporal namespace name'),
        taskQueue: z.string().regex(/^[A-Za-z0-9._:-]{1,255}$/, 'must be a task queue name without spaces'),
        uiUrl: httpUrl,
      })
      .strict(),
    connections: z.record(
      z.string().regex(CONNECTION_NAME, 'connection names start with a letter and use letters, digits, "_" or "-"'),
      connectionUrl,
    ),
    s3: z
      .object({
        endpoint: httpUrl.optional(),
        region: z.string().min(1, 'must not be empty'),
        bucket: z
          .string()
          .regex(
            /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
            'must be a valid S3 bucket name (3-63 lower-case letters, digits, "." or "-")',
          ),
        forcePathStyle: z.boolean(),
        accessKeyId: z.string().min(1).optional(),
        secretAccessKey: z.string().min(1).optional(),
        checksums: z.enum(['WHEN_SUPPORTED', 'WHEN_REQUIRED']),
      })
      .strict(),
    artifactDir: z.string().min(1, 'must not be empty'),
    backup: z
      .object({
        prefix: z.string().regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'must be an S3 key prefix such as "backups"'),
        formats: z.array(z.enum(['custom', 'plain', 'schema'])).min(1, 'name at least one of custom, plain, schema'),
        verify: z.enum(['auto', 'checksum', 'read', 'restore']),
        restoreVerifyMaxBytes: z.number().int().min(0),
        upload: z.boolean(),
        sse: z
          .object({ mode: z.enum(['none', 'AES256', 'aws:kms']), kmsKeyId: z.string().min(1).optional() })
          .strict()
          .refine((sse) => sse.mode === 'aws:kms' || sse.kmsKeyId === undefined, {
            message: 'kmsKeyId only applies with mode "aws:kms"',
          }),
        retention: z
          .object({
            local: retentionPolicy,
            s3: retentionPolicy,
            lifecycleBackstopDays: z.number().int().min(1).max(3650),
            dryRun: z.boolean(),
          })
          .strict(),
      })
      .strict(),
    notifications: z
      .object({
        onSuccess: z.boolean(),
        email: z
          .object({
            host: z.string().min(1),
            port: z.number().int().min(1).max(65535),
            secure: z.boolean(),
            from: z.string().regex(/^[^\s@]+@[^\s@]+$/, 'must be an e-mail address'),
            to: z.array(z.string().regex(/^[^\s@]+@[^\s@]+$/, 'must be an e-mail address')).min(1),
            user: z.string().min(1).optional(),
          })
          .strict()
          .optional(),
      })
      .strict(),
    schedules: z
      .object({
        nightlyBackup: z
          .object({
            at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24-hour), e.g. "03:00"'),
            timeZone: z
              .string()
              .refine(isTimeZone, { message: 'must be an IANA time zone such as "UTC" or "Europe/Berlin"' }),
            targets: z.array(z.string().min(1)).optional(),
            catchupWindowHours: z.number().int().min(0).max(72),
            paused: z.boolean(),
          })
          .strict(),
      })
      .strict(),
    worker: z
      .object({
        shutdownGraceSeconds: z.number().int().min(0).max(3600),
        maxConcurrentActivities: z.number().int().min(1).max(1000),
        logLevel: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']),
        hostId: z
          .string()
          .regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be 1-100 letters, digits, ".", "_" or "-" (it names a task queue)'),
        cacheDir: z.string().min(1, 'must not be empty'),
        cacheMaxAgeDays: z.number().int().min(1).max(3650),
        stageSources: z.boolean(),
      })
      .strict(),
  })
  .strict();

/** The validated, frozen configuration every process uses. */
export type DbopsConfig = Readonly<z.infer<typeof configSchema>>;
