import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DbopsError } from '../../common/errors';
import { LOCAL_MINIO } from '../../config/defaults';
import { connectionPassword, loadConfig } from '../../config/load';

describe('config module', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dbops-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const load = (env: Record<string, string> = {}) => loadConfig({ env, cwd: dir });
  const failure = (env: Record<string, string> = {}): DbopsError => {
    try {
      load(env);
    } catch (err) {
      return err as DbopsError;
    }
    throw new Error('expected loadConfig to fail');
  };
  const writeConfig = (value: unknown) => writeFileSync(join(dir, 'dbops.config.json'), JSON.stringify(value));

  it('defaults to the local stack, frozen', () => {
    const config = load();
    expect(config.temporal).toEqual({
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'dbops',
      uiUrl: 'http://127.0.0.1:8233',
    });
    expect(config.connections).toEqual({
      local_pg: 'postgres://root@127.0.0.1:5432/test',
      local_mysql: 'mysql://root@127.0.0.1:3306/test',
      local_redis: 'redis://127.0.0.1:6379/0',
    });
    expect(config.s3).toMatchObject({
      endpoint: LOCAL_MINIO.endpoint,
      bucket: 'dbops',
      accessKeyId: LOCAL_MINIO.accessKeyId,
    });
    expect(config.artifactDir).toBe(join(dir, 'artifacts'));
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.connections)).toBe(true);
  });

  it('environment overrides defaults; connections come from DBOPS_CONNECTION_*', () => {
    const config = load({
      DBOPS_TEMPORAL_ADDRESS: 'temporal.internal:7233',
      DBOPS_TASK_QUEUE: 'dbops-prod',
      DBOPS_S3_ENDPOINT: 'https://s3.eu-west-1.amazonaws.com',
      DBOPS_S3_FORCE_PATH_STYLE: 'false',
      DBOPS_WORKER_SHUTDOWN_GRACE_SECONDS: '70',
      DBOPS_CONNECTION_HELLOAGENTS_PG: 'postgres://app@pg.internal:5432/helloagents',
    });
    expect(config.temporal.address).toBe('temporal.internal:7233');
    expect(config.temporal.taskQueue).toBe('dbops-prod');
    expect(config.s3.forcePathStyle).toBe(false);
    // A real endpoint never inherits the local MinIO's development credentials.
    expect(config.s3.accessKeyId).toBeUndefined();
    expect(config.worker.shutdownGraceSeconds).toBe(70);
    expect(config.connections.helloagents_pg).toBe('postgres://app@pg.internal:5432/helloagents');
  });

  it('a config file replaces the connections and merges the other sections; env still wins', () => {
    writeConfig({
      temporal: { taskQueue: 'from-file' },
      connections: { shop: 'mysql://app@db/shop' },
      s3: { bucket: 'backups-eu' },
    });
    const config = load({ DBOPS_S3_BUCKET: 'from-env' });
    expect(config.temporal).toMatchObject({ taskQueue: 'from-file', address: '127.0.0.1:7233' });
    expect(config.connections).toEqual({ shop: 'mysql://app@db/shop' });
    expect(config.s3.bucket).toBe('from-env');
  });

  it('reads passwords from the environment only, by connection name', () => {
    expect(connectionPassword('helloagents-pg', { DBOPS_PASSWORD_HELLOAGENTS_PG: 'pw' })).toBe('pw');
    expect(connectionPassword('local_pg', { DBOPS_PASSWORD_LOCAL_PG: '' })).toBeUndefined();
  });

  it.each([
    [
      { DBOPS_TEMPORAL_ADDRESS: 'localhost' },
      /temporal\.address \(from env DBOPS_TEMPORAL_ADDRESS\): must be host:port/,
    ],
    [{ DBOPS_S3_BUCKET: 'UPPER_case' }, /s3\.bucket \(from env DBOPS_S3_BUCKET\): must be a valid S3 bucket name/],
    [{ DBOPS_S3_CHECKSUMS: 'SOMETIMES' }, /s3\.checksums \(from env DBOPS_S3_CHECKSUMS\)/],
    [
      { DBOPS_WORKER_SHUTDOWN_GRACE_SECONDS: 'thirty' },
      /DBOPS_WORKER_SHUTDOWN_GRACE_SECONDS="thirty" must be a whole number/,
    ],
    [
      { DBOPS_WORKER_MAX_CONCURRENT_ACTIVITIES: '0' },
      /worker\.maxConcurrentActivities \(from env DBOPS_WORKER_MAX_CONCURRENT_ACTIVITIES\)/,
    ],
    [{ DBOPS_S3_FORCE_PATH_STYLE: 'maybe' }, /DBOPS_S3_FORCE_PATH_STYLE="maybe" must be true or false/],
    [
      { DBOPS_CONNECTION_SHOP: 'oracle://db/shop' },
      /connections\.shop \(from env DBOPS_CONNECTION_SHOP\): must be a URL with one of the schemes/,
    ],
    [
      { DBOPS_CONNECTION_SHOP: 'mysql://app:pw@db/shop' },
      /connections\.shop .*must not contain a password: set DBOPS_PASSWORD_<NAME>/,
    ],
    [{ DBOPS_CONFIG: 'missing.json' }, /DBOPS_CONFIG points at .*missing\.json, which does not exist/],
  ])('rejects %j naming the option, its source and the rule', (env, message) => {
    const error = failure(env);
    expect(error).toBeInstanceOf(DbopsError);
    expect(error.code).toBe('DBOPS_CONFIG_INVALID');
    expect(error.message).toMatch(message);
  });

  it('rejects a config file with a secret, an unknown option or broken JSON', () => {
    writeConfig({ s3: { secretAccessKey: 'abc' } });
    expect(failure().message).toMatch(/holds a secret: config\.s3\.secretAccessKey.*DBOPS_S3_SECRET_ACCESS_KEY/);
    writeConfig({ connections: { pg: 'postgres://u:pw@h/d' } });
    expect(failure().message).toMatch(/holds a secret: config\.connections\.pg/);
    expect(failure().message).not.toContain(':pw@');
    writeConfig({ temporal: { adress: 'x:1' } });
    expect(failure().message).toMatch(/temporal.*adress/);
    writeFileSync(join(dir, 'dbops.config.json'), '{ "temporal": ');
    expect(failure().message).toMatch(/dbops\.config\.json is not valid JSON/);
  });
});
