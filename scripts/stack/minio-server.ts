/**
 * The MinIO server of the local stack (S3 for backups), with its own data folder and the default bucket.
 * It runs with a static KMS key, so SSE-S3 (`AES256`) and SSE-KMS (`aws:kms` with key id `dbops-local-key`)
 * work as on AWS. The settings it was launched with are stamped next to its pid file: a MinIO started by
 * an older stack (no key) is restarted with the current settings instead of being kept.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createS3Client, ensureBucket } from '../../activities/s3/client';
import type { DbopsConfig } from '../../config/load';
import { LOCAL_MINIO } from '../../config/defaults';
import { PATHS } from './paths';
import { portOpen, runningPid, startDetached, stopProcess } from './processes';
import { ensureTool } from './tools';

/**
 * MinIO's static KMS key, `<key-name>:<base64 of 32 bytes>` (MINIO_KMS_SECRET_KEY, minio/internal/kms).
 * A loopback development key like LOCAL_MINIO's credentials: it protects nothing but local test data.
 */
const KMS_SECRET_KEY = `${LOCAL_MINIO.kmsKeyId}:d6HK0WUqa8287/K2KTyyD97Jiszc9xKXNWjHN9Fmwsw=`;

const SETTINGS_STAMP = join(PATHS.run, 'minio.settings');

/** What MinIO was (or would be) launched with: its arguments and environment overrides. */
function launchSettings(): { args: string[]; env: Record<string, string> } {
  return {
    args: [
      'server',
      PATHS.minioData,
      '--address',
      '127.0.0.1:9000',
      '--console-address',
      LOCAL_MINIO.consoleAddress,
      '--quiet',
    ],
    env: {
      MINIO_ROOT_USER: LOCAL_MINIO.accessKeyId,
      MINIO_ROOT_PASSWORD: LOCAL_MINIO.secretAccessKey,
      MINIO_KMS_SECRET_KEY: KMS_SECRET_KEY,
    },
  };
}

/** A digest of the launch settings, so the stamp file holds no credential. */
function settingsDigest(settings: { args: string[]; env: Record<string, string> }): string {
  return createHash('sha256').update(JSON.stringify(settings)).digest('hex');
}

function readStamp(): string | undefined {
  try {
    return readFileSync(SETTINGS_STAMP, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Starts MinIO unless one is running with the current settings (ours, or another on the same port);
 * restarts ours when it was launched with other settings. pid null = not ours.
 */
export async function startMinio(
  say: (line: string) => void,
): Promise<{ started: boolean; restarted: boolean; pid: number | null }> {
  const binary = ensureTool('minio', say);
  const settings = launchSettings();
  const digest = settingsDigest(settings);
  const existing = runningPid('minio');
  let restarted = false;
  if (existing !== undefined) {
    if (readStamp() === digest) return { started: false, restarted: false, pid: existing };
    say('MinIO: launched by an older stack (other settings, e.g. no KMS key); restarting it');
    await stopProcess('minio');
    restarted = true;
  } else if (await portOpen('127.0.0.1', 9000)) {
    say(
      'MinIO: 127.0.0.1:9000 is already served by a process this checkout did not start; using it ' +
        `(server-side encryption needs it to run with MINIO_KMS_SECRET_KEY=${LOCAL_MINIO.kmsKeyId}:…)`,
    );
    return { started: false, restarted: false, pid: null };
  }
  mkdirSync(PATHS.minioData, { recursive: true });
  // KMS variables from the caller's shell would clash with the static key (MinIO refuses two KMS configs).
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MINIO_KMS_')));
  const proc = startDetached('minio', binary, settings.args, { ...inherited, ...settings.env });
  writeFileSync(SETTINGS_STAMP, `${digest}\n`);
  await waitForHealth(proc.log);
  return { started: true, restarted, pid: proc.pid };
}

/** Creates the configured bucket in the local MinIO; returns true if it was created now. */
export async function ensureDefaultBucket(config: DbopsConfig): Promise<boolean> {
  const client = createS3Client({
    ...config.s3,
    endpoint: LOCAL_MINIO.endpoint,
    accessKeyId: LOCAL_MINIO.accessKeyId,
    secretAccessKey: LOCAL_MINIO.secretAccessKey,
  });
  try {
    return await ensureBucket(client, config.s3.bucket);
  } finally {
    client.destroy();
  }
}

async function waitForHealth(log: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${LOCAL_MINIO.endpoint}/minio/health/live`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await delay(250);
  }
  throw new Error(`MinIO did not become healthy within 60 s; see ${log}`);
}
