/** Built-in defaults: the local stack that `npm run stack` starts on this machine. */

/** The local MinIO of `npm run stack`. Loopback-only development credentials, not a secret of any deployment. */
export const LOCAL_MINIO = Object.freeze({
  endpoint: 'http://127.0.0.1:9000',
  consoleAddress: '127.0.0.1:9001',
  accessKeyId: 'dbops-local',
  secretAccessKey: 'dbops-local-secret',
});

/** Connections every fresh machine of this kind has: trust auth, no passwords. */
export const LOCAL_CONNECTIONS: Readonly<Record<string, string>> = Object.freeze({
  local_pg: 'postgres://root@127.0.0.1:5432/test',
  local_mysql: 'mysql://root@127.0.0.1:3306/test',
  local_redis: 'redis://127.0.0.1:6379/0',
});

/** Default values of every option (before the config file and environment are applied). */
export function defaultConfig(): {
  temporal: { address: string; namespace: string; taskQueue: string; uiUrl: string };
  connections: Record<string, string>;
  s3: {
    endpoint?: string;
    region: string;
    bucket: string;
    forcePathStyle: boolean;
    accessKeyId?: string;
    secretAccessKey?: string;
    checksums: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
  };
  artifactDir: string;
  worker: {
    shutdownGraceSeconds: number;
    maxConcurrentActivities: number;
    logLevel: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  };
} {
  return {
    temporal: { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'dbops', uiUrl: 'http://127.0.0.1:8233' },
    connections: { ...LOCAL_CONNECTIONS },
    s3: { region: 'us-east-1', bucket: 'dbops', forcePathStyle: true, checksums: 'WHEN_SUPPORTED' },
    artifactDir: 'artifacts',
    worker: { shutdownGraceSeconds: 30, maxConcurrentActivities: 8, logLevel: 'INFO' },
  };
}
