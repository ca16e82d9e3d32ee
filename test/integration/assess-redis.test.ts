/**
 * The Redis assessment against throwaway redis-servers the test starts (the shared one on 6379 is only read,
 * never written or flushed): a server without persistence must get the persistence finding; a cache-like
 * server with snapshots, a password and an evicting policy gets the other verdicts; key patterns (`user:*`,
 * `session:*`) carry counts and sampled sizes; command families count reads and writes between two samples;
 * the slow log yields command + key pattern, never a value; a closed port and a wrong password are down.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assessRedis, redisKeyPattern, redisLivePatterns, redisUsageCounters } from '../../activities/redis/assess';
import { ASSESSMENT_RULES } from '../../common/assessment/rules';
import type { CheckResult } from '../../common/contracts/assessment';
import { freePort, TestRedis } from '../support/redis-server';
import { SERVERS } from '../support/servers';

const dir = mkdtempSync(join(tmpdir(), 'dbops-assess-redis-'));
const PASSWORD = `pw-${randomUUID().slice(0, 8)}`;
const SECRET_VALUE = 'secret-value-never-reported';
const SESSIONS = [randomUUID(), randomUUID(), randomUUID()];
const USERS = [1, 2, 3, 123, 4567];
const rules = ASSESSMENT_RULES;

let bare: TestRedis;
let cache: TestRedis;

const byId = (findings: CheckResult[]): Record<string, CheckResult> =>
  Object.fromEntries(findings.map((f) => [f.id, f]));

beforeAll(async () => {
  [bare, cache] = await Promise.all([
    TestRedis.start(dir, 'bare', ['--save', '', '--appendonly', 'no']),
    TestRedis.start(
      dir,
      'cache',
      ['--save', '3600 1', '--appendonly', 'no', '--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'],
      PASSWORD,
    ),
  ]);
  // bare: a data store (most keys without a TTL) in db0, one more pattern in db2.
  for (const id of USERS) await bare.admin.hset(`user:${id}`, 'name', SECRET_VALUE, 'email', `${id}@example.org`);
  for (const id of SESSIONS) await bare.admin.set(`session:${id}`, SECRET_VALUE, 'EX', 3600);
  await bare.admin.select(2);
  await bare.admin.rpush('cart:42:items', 'a', 'b', 'c');
  await bare.admin.select(0);
  // cache: every key with a TTL.
  for (let i = 0; i < 20; i++) await cache.admin.set(`page:${i}`, 'x'.repeat(100), 'EX', 600);
});

afterAll(async () => {
  await Promise.all([bare?.stop(), cache?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('assessRedis', () => {
  it('reports a data store without persistence, and the exact findings of a quiet server', async () => {
    const changes = /rdb_changes_since_last_save:(\d+)/.exec(await bare.admin.info('persistence'))?.[1];
    const result = await assessRedis({ url: bare.url }, 'sessions', rules);
    expect(result.up).toBe(true);
    expect(result.version).toMatch(/^\d+\.\d+/);
    const f = byId(result.findings);
    expect(Object.fromEntries(result.findings.map((x) => [x.id, x.severity]))).toEqual({
      'redis.reachable': 'ok',
      'redis.version': 'ok',
      'redis.replication': 'ok',
      'redis.memory': 'ok',
      'redis.eviction_policy': 'ok',
      'redis.fragmentation': 'ok',
      'redis.persistence': 'warning',
      'redis.clients': 'ok',
      'redis.rejected_connections': 'ok',
      'redis.hit_rate': 'ok',
    });
    for (const x of result.findings) expect(x).toMatchObject({ engine: 'redis', target: 'sessions' });
    expect(f['redis.persistence']).toMatchObject({ category: 'durability', value: 'none' });
    expect(f['redis.persistence']!.evidence).toMatch(/no RDB save points and AOF off/);
    expect(f['redis.persistence']!.evidence).toMatch(/9 keys, 3 with a TTL \(data store\)/);
    expect(f['redis.persistence']!.recommendation).toMatch(/appendonly yes/);
    expect(f['redis.replication']).toMatchObject({ value: 'master' });
    expect(f['redis.memory']!.evidence).toMatch(/no maxmemory set/);
    expect(f['redis.rejected_connections']).toMatchObject({ value: 0 });
    expect(result.facts).toMatchObject({ keys: 9, keysWithTtl: 3, use: 'data store', rdbSavePoints: '' });

    // Volume: patterns per database, exact (the scan saw every key), bytes sampled with MEMORY USAGE.
    const volume = result.volume!;
    expect(volume.engine).toBe('redis');
    expect(volume.totalBytes).toBeGreaterThan(0);
    const tables = Object.fromEntries(volume.tables.map((t) => [t.name, t]));
    expect(Object.keys(tables).sort()).toEqual(['db0:session:*', 'db0:user:*', 'db2:cart:*:items']);
    expect(tables['db0:user:*']).toMatchObject({ rows: USERS.length, rowsExact: true, indexBytes: 0 });
    expect(tables['db0:session:*']).toMatchObject({ rows: SESSIONS.length, rowsExact: true });
    expect(tables['db2:cart:*:items']).toMatchObject({ rows: 1, rowsExact: true });
    for (const t of volume.tables) expect(t.dataBytes).toBeGreaterThan(0);
    expect(JSON.stringify(result)).not.toContain(SECRET_VALUE);

    // Nothing was written: the keyspace and the change counter are as before.
    expect(await bare.admin.dbsize()).toBe(USERS.length + SESSIONS.length);
    expect(changes).toBeDefined();
    expect(await bare.admin.info('persistence')).toContain(`rdb_changes_since_last_save:${changes}\r\n`);
  });

  it('judges a cache with snapshots, a password and an evicting policy', async () => {
    const result = await assessRedis({ url: cache.url, password: PASSWORD }, 'pages', rules);
    expect(result.up).toBe(true);
    const f = byId(result.findings);
    expect(f['redis.persistence']).toMatchObject({ severity: 'ok', value: 'RDB (save 3600 1)' });
    // Snapshots are configured: the last save is judged (its changes are younger than the warning age).
    expect(f['redis.last_save']).toMatchObject({ severity: 'ok', category: 'durability' });
    expect(f['redis.last_save']!.evidence).toMatch(/rdb_last_bgsave_status ok, .* 20 changes since/);
    expect(f['redis.eviction_policy']).toMatchObject({ severity: 'ok', value: 'allkeys-lru' });
    expect(f['redis.memory']!.evidence).toMatch(/of maxmemory 64\.0 MiB/);
    expect(result.facts).toMatchObject({ use: 'cache', keys: 20, keysWithTtl: 20 });
    expect(result.volume!.tables).toEqual([expect.objectContaining({ name: 'db0:page:*', rows: 20, rowsExact: true })]);
  });

  it('warns about an evicting policy on a data store, and about misses in a cache', async () => {
    const store = await TestRedis.start(dir, 'store', [
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory',
      '64mb',
      '--maxmemory-policy',
      'allkeys-lru',
    ]);
    try {
      await store.admin.set('account:1', 'x');
      const f = byId((await assessRedis({ url: store.url }, 'store', rules)).findings);
      expect(f['redis.eviction_policy']).toMatchObject({ severity: 'warning', value: 'allkeys-lru' });
      expect(f['redis.eviction_policy']!.recommendation).toMatch(/noeviction/);

      await store.admin.set('account:1', 'x', 'EX', 600);
      for (let i = 0; i < 10; i++) await store.admin.get(`missing:${i}`);
      const g = byId((await assessRedis({ url: store.url }, 'store', rules)).findings);
      expect(g['redis.hit_rate']).toMatchObject({ severity: 'warning', value: 0 });
      expect(g['redis.persistence']).toMatchObject({ severity: 'info', value: 'none' });
    } finally {
      await store.stop();
    }
  });

  it('reports a closed port and a wrong password as down, without throwing', async () => {
    const down = await assessRedis({ url: `redis://127.0.0.1:${await freePort()}` }, 'gone', rules);
    expect(down.up).toBe(false);
    expect(down.findings).toEqual([
      expect.objectContaining({ id: 'redis.reachable', severity: 'critical', value: 'down' }),
    ]);
    expect(down.findings[0]!.evidence).toMatch(/cannot connect/);

    const refused = await assessRedis({ url: cache.url, password: 'wrong-password' }, 'pages', rules);
    expect(refused.up).toBe(false);
    expect(refused.findings[0]).toMatchObject({ id: 'redis.reachable', severity: 'critical' });
    expect(refused.findings[0]!.evidence).toMatch(/WRONGPASS|NOAUTH|authentication failed|invalid password/i);
    expect(refused.findings[0]!.evidence).not.toContain('wrong-password');

    const missingPassword = await assessRedis({ url: cache.url }, 'pages', rules);
    expect(missingPassword.up).toBe(false);
    expect(missingPassword.findings[0]!.evidence).toMatch(/NOAUTH|authentication/i);
  });

  it('assesses the shared server on 6379 (reading only)', async () => {
    const result = await assessRedis({ url: SERVERS.redis }, 'shared', rules);
    expect(result.up).toBe(true);
    expect(byId(result.findings)['redis.reachable']?.severity).toBe('ok');
  });
});

describe('redisUsageCounters and redisLivePatterns', () => {
  it('counts reads and writes per command family between two samples', async () => {
    const first = await redisUsageCounters({ url: bare.url });
    for (let i = 0; i < 10; i++) await bare.admin.hgetall('user:123');
    await bare.admin.get(`session:${SESSIONS[0]}`);
    await bare.admin.expire(`session:${SESSIONS[1]}`, 1800);
    const second = await redisUsageCounters({ url: bare.url });
    const delta = (family: string, kind: 'reads' | 'writes') =>
      (second[family]?.[kind] ?? 0) - (first[family]?.[kind] ?? 0);
    expect(delta('hash', 'reads')).toBe(10);
    expect(delta('hash', 'writes')).toBe(0);
    expect(delta('string', 'reads')).toBe(1);
    expect(delta('keyspace', 'writes')).toBe(1);
    // The HSET/SET of the fixture are writes of their families; INFO, PING, CLIENT… are not counted.
    expect(second.hash!.writes).toBeGreaterThanOrEqual(USERS.length);
    expect(second.string!.writes).toBeGreaterThanOrEqual(SESSIONS.length);
    expect(Object.keys(second)).not.toContain('server');
  });

  it('lists commands and slow-log patterns with key patterns, never values', async () => {
    await bare.admin.config('SET', 'slowlog-log-slower-than', '0');
    try {
      await bare.admin.slowlog('RESET');
      await bare.admin.hgetall('user:4567');
      await bare.admin.get(`session:${SESSIONS[2]}`);
      const { patterns } = await redisLivePatterns({ url: bare.url });
      const commands = patterns.filter((p) => !p.text.startsWith('slowlog: '));
      expect(commands.length).toBeLessThanOrEqual(20);
      expect(commands.every((p) => p.kind === 'redis' && /^[A-Z|]+$/.test(p.text) && (p.calls ?? 0) > 0)).toBe(true);
      const slow = patterns.filter((p) => p.text.startsWith('slowlog: '));
      expect(slow).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ text: 'slowlog: HGETALL user:*', tables: ['user:*'], calls: 1 }),
          expect.objectContaining({ text: 'slowlog: GET session:*', tables: ['session:*'], calls: 1 }),
        ]),
      );
      const text = JSON.stringify(patterns);
      expect(text).not.toContain(SECRET_VALUE);
      expect(text).not.toContain(SESSIONS[2]);
      expect(text).not.toContain('4567');
    } finally {
      await bare.admin.config('SET', 'slowlog-log-slower-than', '10000');
    }
  });

  it('turns keys into patterns', () => {
    expect(redisKeyPattern('user:123')).toBe('user:*');
    expect(redisKeyPattern(`session:${SESSIONS[0]}`)).toBe('session:*');
    expect(redisKeyPattern('cart:42:items')).toBe('cart:*:items');
    expect(redisKeyPattern('order42:v2')).toBe('order*:v*');
    expect(redisKeyPattern('blob:0123456789abcdef0123')).toBe('blob:*');
    expect(redisKeyPattern('plain')).toBe('plain');
  });
});
