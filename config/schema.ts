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
    worker: z
      .object({
        shutdownGraceSeconds: z.number().int().min(0).max(3600),
        maxConcurrentActivities: z.number().int().min(1).max(1000),
        logLevel: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']),
      })
      .strict(),
  })
  .strict();

/** The validated, frozen configuration every process uses. */
export type DbopsConfig = Readonly<z.infer<typeof configSchema>>;
