/** Scale-out settings and routing rules (docs/architecture.md, "Scale out"): host id, queues, keys, the source path. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostQueueOf, localSource, stagedKeyOf } from '../../activities/migration/source-staging';
import type { ObjectCache } from '../../activities/s3/cache';
import { DbopsError } from '../../common/errors';
import { CONFIG_ENV_VARS } from '../../config/env-vars';
import { defaultHostId } from '../../config/defaults';
import { loadConfig } from '../../config/load';

describe('scale-out configuration', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dbops-scale-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const load = (env: Record<string, string> = {}) => loadConfig({ env, cwd: dir });

  it('defaults: the host name as host id, the cache under the artifact folder, staging as backups upload', () => {
    const config = load();
    expect(config.worker.hostId).toBe(defaultHostId());
    expect(defaultHostId()).toBe(hostname().replace(/[^A-Za-z0-9._-]/g, '-'));
    expect(config.worker.cacheDir).toBe(join(dir, 'artifacts', 'cache'));
    expect(config.worker.cacheMaxAgeDays).toBe(7);
    expect(config.worker.stageSources).toBe(true);
    expect(load({ DBOPS_ARTIFACT_DIR: '/srv/dbops' }).worker.cacheDir).toBe('/srv/dbops/cache');
  });

  it('the environment sets each, and staging follows backup.upload unless set', () => {
    const config = load({
      DBOPS_WORKER_HOST: 'db-worker-2',
      DBOPS_WORKER_CACHE_DIR: 'cache-here',
      DBOPS_WORKER_CACHE_MAX_AGE_DAYS: '2',
      DBOPS_WORKER_STAGE_SOURCES: 'false',
    });
    expect(config.worker).toMatchObject({
      hostId: 'db-worker-2',
      cacheDir: join(dir, 'cache-here'),
      cacheMaxAgeDays: 2,
      stageSources: false,
    });
    writeFileSync(join(dir, 'dbops.config.json'), JSON.stringify({ backup: { upload: false } }));
    expect(load().worker.stageSources).toBe(false);
    expect(load({ DBOPS_WORKER_STAGE_SOURCES: 'true' }).worker.stageSources).toBe(true);
    for (const name of [
      'DBOPS_WORKER_HOST',
      'DBOPS_WORKER_CACHE_DIR',
      'DBOPS_WORKER_CACHE_MAX_AGE_DAYS',
      'DBOPS_WORKER_STAGE_SOURCES',
    ])
      expect(CONFIG_ENV_VARS).toHaveProperty(name);
  });

  it('a host id that cannot name a task queue is refused, naming the option', () => {
    expect(() => load({ DBOPS_WORKER_HOST: 'two words' })).toThrow(DbopsError);
    expect(() => load({ DBOPS_WORKER_HOST: 'two words' })).toThrow(/worker\.hostId \(from env DBOPS_WORKER_HOST\)/);
    expect(() => load({ DBOPS_WORKER_CACHE_MAX_AGE_DAYS: '0' })).toThrow(/worker\.cacheMaxAgeDays/);
  });
});

describe('scale-out routing', () => {
  it('a host queue is <taskQueue>@<hostId>, and a staged key is content-addressed', () => {
    expect(hostQueueOf('dbops', 'host-a')).toBe('dbops@host-a');
    expect(hostQueueOf('dbops@host-b', 'host-a')).toBe('dbops@host-a');
    expect(stagedKeyOf('ab'.repeat(32))).toBe(`staging/sqlite/${'ab'.repeat(32)}.db`);
  });

  it('the source a chunk reads: the backup itself when not staged or on its own host, else the cached copy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbops-source-'));
    try {
      const backupPath = join(dir, 'source-backup.sqlite');
      writeFileSync(backupPath, 'x');
      const asked: string[] = [];
      const cache = {
        get: (key: string) => {
          asked.push(key);
          return Promise.resolve('/cache/sqlite/copy.db');
        },
      } as unknown as ObjectCache;
      const sha256 = 'c'.repeat(64);
      const staged = { backupPath, sha256, stagedKey: stagedKeyOf(sha256), hostId: 'host-a' };
      expect(await localSource(backupPath, undefined, 'host-b', cache)).toBe(backupPath);
      expect(await localSource(backupPath, { ...staged, stagedKey: null }, 'host-b', cache)).toBe(backupPath);
      expect(await localSource(backupPath, staged, 'host-a', cache)).toBe(backupPath);
      expect(asked).toEqual([]);
      expect(await localSource(backupPath, staged, 'host-b', cache)).toBe('/cache/sqlite/copy.db');
      // Same host id, but the file is not there (another machine misconfigured with the same id): fetch.
      expect(await localSource(backupPath, { ...staged, backupPath: join(dir, 'gone') }, 'host-a', cache)).toBe(
        '/cache/sqlite/copy.db',
      );
      expect(asked).toEqual([staged.stagedKey, staged.stagedKey]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
