/** The MinIO server of the local stack (S3 for backups), with its own data folder and the default bucket. */
import { mkdirSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { createS3Client, ensureBucket } from '../../activities/s3/client';
import type { DbopsConfig } from '../../config/load';
import { LOCAL_MINIO } from '../../config/defaults';
import { PATHS } from './paths';
import { portOpen, runningPid, startDetached } from './processes';
import { ensureTool } from './tools';

/** Starts MinIO unless one is running (ours, or another on the same port); pid null = not ours. */
export async function startMinio(say: (line: string) => void): Promise<{ started: boolean; pid: number | null }> {
  const binary = ensureTool('minio', say);
  const existing = runningPid('minio');
  if (existing !== undefined) return { started: false, pid: existing };
  if (await portOpen('127.0.0.1', 9000)) {
    say('MinIO: 127.0.0.1:9000 is already served by a process this checkout did not start; using it');
    return { started: false, pid: null };
  }
  mkdirSync(PATHS.minioData, { recursive: true });
  const proc = startDetached(
    'minio',
    binary,
    [
      'server',
      PATHS.minioData,
      '--address',
      '127.0.0.1:9000',
      '--console-address',
      LOCAL_MINIO.consoleAddress,
      '--quiet',
    ],
    { ...process.env, MINIO_ROOT_USER: LOCAL_MINIO.accessKeyId, MINIO_ROOT_PASSWORD: LOCAL_MINIO.secretAccessKey },
  );
  await waitForHealth(proc.log);
  return { started: true, pid: proc.pid };
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
