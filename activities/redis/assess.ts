/**
 * Assessment of one Redis server for `assessEstate`: health findings (`redis.*`) from INFO and CONFIG GET,
 * volume per database and per key pattern (SCAN sampling), usage per command family (INFO commandstats) and
 * live command patterns (commandstats + SLOWLOG).
 *
 * Read-only by construction: a client of its own (lazy connect, short timeouts, no retries, no offline queue)
 * that only sends INFO, CONFIG GET, COMMAND INFO, SCAN, MEMORY USAGE, SLOWLOG GET and SELECT — never a write
 * command. A server that cannot be reached or refuses the login is reported down, never thrown. Key patterns
 * keep key names' shape only (digit runs, UUIDs and long hex ids become `*`); values are never read.
 *
 * "Cache" versus "data store": Redis does not know what it is used for. A keyspace in which at least
 * `rules.plan.redisCacheMinTtlSharePct` % of the keys have a TTL is treated as a cache; anything else
 * (including an empty one) as a data store, the conservative reading for eviction and persistence.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { ASSESSMENT_RULES, type AssessmentRules } from '../../common/assessment/rules';
import type { CheckResult, QueryPattern, TableVolume, VolumeReport } from '../../common/contracts/assessment';
import { redactSecrets } from '../../common/secret-guard';
import { classifyDriverError } from '../connections/classify-error';
import type { AssessOptions, EngineAssessment } from '../mysql/assess';
import { finder, type Make } from '../../common/assessment/findings';
import { formatBytes } from '../../common/format';

/** A Redis server: its URL (no password) and the password bound to it. */
export interface RedisServer {
  url: string;
  password?: string;
}

/** Keys sampled per database for the per-pattern volume. */
export const SCAN_CAP_PER_DB = 10_000;
/** MEMORY USAGE calls per database (spread over the patterns) to estimate bytes per key. */
const MEMORY_SAMPLES_PER_DB = 1_000;
/** MEMORY USAGE samples per pattern. */
const MEMORY_SAMPLES_PER_PATTERN = 50;
/** Distinct patterns kept per database; the rest are summed up as `(other)`. */
const MAX_PATTERNS_PER_DB = 500;
/** Slow log entries read for live patterns. */
const SLOWLOG_ENTRIES = 128;

/**
 * Health findings, volume and facts of the Redis server of `server.url`. Never throws for the server's state:
 * down or refused logins come back as `up: false` with a critical `redis.reachable`. Rejects only when
 * `options.signal` aborts.
 */
export async function assessRedis(
  server: RedisServer,
  target: string,
  rules: AssessmentRules = ASSESSMENT_RULES,
  options: AssessOptions = {},
): Promise<EngineAssessment> {
  const { signal } = options;
  signal?.throwIfAborted();
  const make = finder('redis', target);
  const label = redisLabel(server.url);
  const started = performance.now();
  const client = rawClient(server, rules.statementTimeoutMs);
  const onAbort = (): void => client.disconnect();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let info: Map<string, string>;
    try {
      await client.connect();
      info = parseInfo(await client.info());
    } catch (err) {
      signal?.throwIfAborted();
      const message = reason(rootCause(client, err), label);
      return {
        up: false,
        findings: [
          make('redis.reachable', 'availability', 'Server reachable and accepting the login', {
            severity: 'critical',
            value: 'down',
            evidence: message,
            recommendation: 'Start the server, or fix the URL or the password bound to it on the worker.',
          }),
        ],
        facts: { error: message },
      };
    }
    const findings: CheckResult[] = [
      make('redis.reachable', 'availability', 'Server reachable and accepting the login', {
        severity: 'ok',
        value: 'up',
        evidence: `connected to ${label} in ${Math.round(performance.now() - started)} ms`,
      }),
    ];
    const config = await configGet(client, ['save', 'appendonly', 'maxclients', 'maxmemory', 'maxmemory-policy']);
    signal?.throwIfAborted();
    const n = (name: string): number => Number(info.get(name) ?? NaN);
    const keyspace = parseKeyspaceInfo(info);
    const keys = Object.values(keyspace).reduce((sum, db) => sum + db.keys, 0);
    const expires = Object.values(keyspace).reduce((sum, db) => sum + db.expires, 0);
    const cache = keys > 0 && (expires / keys) * 100 >= rules.plan.redisCacheMinTtlSharePct;
    const use = keys === 0 ? 'empty keyspace' : cache ? 'cache' : 'data store';
    const useEvidence = `${keys} keys, ${expires} with a TTL (${use})`;
    const version = info.get('redis_version') ?? 'unknown';
    const facts: EngineAssessment['facts'] = {
      version,
      role: info.get('role') ?? null,
      uptimeSeconds: n('uptime_in_seconds'),
      usedMemory: n('used_memory'),
      maxmemory: n('maxmemory'),
      maxmemoryPolicy: info.get('maxmemory_policy') ?? config.get('maxmemory-policy') ?? null,
      totalSystemMemory: n('total_system_memory'),
      keys,
      keysWithTtl: expires,
      use,
      rdbSavePoints: config.get('save') ?? null,
      aofEnabled: info.get('aof_enabled') === '1',
    };

    findings.push(
      make('redis.version', 'availability', 'Server version, uptime and role', {
        severity: 'ok',
        value: version,
        evidence: `Redis ${version} (${info.get('redis_mode') ?? 'standalone'}), up ${formatDuration(n('uptime_in_seconds'))}, role ${info.get('role') ?? '?'}`,
      }),
      replicationFinding(make, info),
      memoryFinding(make, rules, info),
      evictionFinding(make, info, config, cache, useEvidence),
      fragmentationFinding(make, rules, info),
      ...persistenceFindings(make, rules, info, config, cache, useEvidence),
      ...clientFindings(make, rules, info, config),
      hitRateFinding(make, rules, info, cache, useEvidence),
    );
    signal?.throwIfAborted();
    let volume: VolumeReport | undefined;
    try {
      volume = await volumeOf(client, target, keyspace, n('used_memory'), signal);
    } catch (err) {
      signal?.throwIfAborted();
      if (client.status !== 'ready') throw err; // the connection is gone: reported below as down
      facts.volumeError = reason(err, label); // e.g. SELECT refused on a cluster node
    }
    return { up: true, version, findings, ...(volume ? { volume } : {}), facts };
  } catch (err) {
    signal?.throwIfAborted();
    // The connection died between commands (server stopped mid-assessment).
    const message = reason(rootCause(client, err), label);
    return {
      up: false,
      findings: [
        make('redis.reachable', 'availability', 'Server reachable and accepting the login', {
          severity: 'critical',
          value: 'down',
          evidence: `the assessment's connection failed: ${message}`,
          recommendation: 'Check the server log: it stopped answering during the assessment.',
        }),
      ],
      facts: { error: message },
    };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    client.disconnect();
  }
}

/**
 * Cumulative reads and writes per command family from `INFO commandstats`, for sampling twice and taking the
 * difference. Redis counts commands, not keys, so this is the only usage split it offers. The mapping comes
 * from the server's own `COMMAND INFO`:
 * - family: the command's data-type ACL category — `string`, `hash`, `list`, `set`, `zset` (@sortedset),
 *   `stream`, `geo`, `hyperloglog`, `bitmap`, `pubsub`, `scripting`, `transaction`, `keyspace` (DEL, EXPIRE,
 *   SCAN, TYPE…); servers before 6.0 (no categories) use a built-in table of the common commands, `other` for
 *   the rest;
 * - reads: calls of commands flagged `readonly`; writes: calls of commands flagged `write` or `may_replicate`
 *   (EVAL, FCALL, PUBLISH);
 * - commands that are neither (PING, INFO, CLIENT, AUTH, CONFIG…) are left out.
 * The assessment's own SCAN / MEMORY USAGE calls count as `keyspace` reads. Connection failures are thrown.
 */
export async function redisUsageCounters(
  server: RedisServer,
): Promise<Record<string, { reads: number; writes: number }>> {
  const client = rawClient(server, ASSESSMENT_RULES.statementTimeoutMs);
  try {
    await connectOrThrow(client, server.url);
    const stats = parseCommandStats(await client.info('commandstats'));
    const described = await describeCommands(
      client,
      stats.map((s) => s.name),
    );
    const counters: Record<string, { reads: number; writes: number }> = {};
    for (const stat of stats) {
      const command = described.get(stat.name);
      if (!command || command.access === 'none') continue;
      const entry = (counters[command.family] ??= { reads: 0, writes: 0 });
      if (command.access === 'read') entry.reads += stat.calls;
      else entry.writes += stat.calls;
    }
    return counters;
  } finally {
    client.disconnect();
  }
}

/**
 * Live command patterns: the `limit` most-called data commands (reading or writing; not INFO, PING…) from
 * `INFO commandstats` (text = command name, with calls and mean time), and, separately, up to `limit` patterns from `SLOWLOG GET` (text = command name and the
 * first key's pattern, e.g. `HGETALL user:*`; calls = slow-log entries, mean = their mean time). Never a value.
 * A slow log the user may not read (ACL) is skipped.
 */
export async function redisLivePatterns(server: RedisServer, limit = 20): Promise<{ patterns: QueryPattern[] }> {
  const client = rawClient(server, ASSESSMENT_RULES.statementTimeoutMs);
  try {
    await connectOrThrow(client, server.url);
    const stats = parseCommandStats(await client.info('commandstats'));
    const top = Math.max(1, Math.floor(limit));
    // Data commands only: INFO, PING, SELECT, REPLCONF… say nothing about how the applications use the data.
    const kinds = await describeCommands(
      client,
      stats.map((s) => s.name),
    ).catch(() => undefined);
    const patterns: QueryPattern[] = stats
      .filter((s) => s.calls > 0 && (kinds === undefined || (kinds.get(s.name)?.access ?? 'none') !== 'none'))
      .sort((a, b) => b.calls - a.calls)
      .slice(0, top)
      .map((s) => ({
        text: s.name.toUpperCase(),
        kind: 'redis' as const,
        tables: [],
        calls: s.calls,
        meanMs: round(s.usecPerCall / 1000, 3),
      }));

    let slowlog: unknown[] = [];
    try {
      slowlog = (await client.call('SLOWLOG', 'GET', String(SLOWLOG_ENTRIES))) as unknown[];
    } catch {
      slowlog = []; // SLOWLOG is an @admin command: an ACL user may not have it
    }
    const entries = slowlog
      .map((entry) => (Array.isArray(entry) ? entry : []))
      .filter((entry) => Array.isArray(entry[3]) && (entry[3] as unknown[]).length > 0);
    const described = await describeCommands(client, [
      ...new Set(entries.map((entry) => String((entry[3] as unknown[])[0]).toLowerCase())),
    ]).catch(() => new Map<string, CommandInfo>());
    const slow = new Map<string, { key?: string; count: number; micros: number }>();
    for (const entry of entries) {
      const args = (entry[3] as unknown[]).map(String);
      const name = args[0]!.toLowerCase();
      const firstKey = described.get(name)?.firstKey ?? 0;
      const key =
        firstKey > 0 && args[firstKey] !== undefined && !/^\.\.\. \(\d+ more/.test(args[firstKey]!)
          ? redisKeyPattern(args[firstKey]!)
          : undefined;
      const text = key !== undefined ? `${name.toUpperCase()} ${key}` : name.toUpperCase();
      const agg = slow.get(text) ?? { ...(key !== undefined ? { key } : {}), count: 0, micros: 0 };
      agg.count++;
      agg.micros += Number(entry[2] ?? 0);
      slow.set(text, agg);
    }
    patterns.push(
      ...[...slow.entries()]
        .sort((a, b) => b[1].micros - a[1].micros)
        .slice(0, top)
        .map(([text, agg]) => ({
          text: `slowlog: ${text}`,
          kind: 'redis' as const,
          tables: agg.key !== undefined ? [agg.key] : [],
          calls: agg.count,
          meanMs: round(agg.micros / agg.count / 1000, 3),
        })),
    );
    return { patterns };
  } finally {
    client.disconnect();
  }
}

/**
 * The pattern of a key: split on `:`, and in each part UUIDs, hex ids of 16+ characters and digit runs become
 * `*` (`user:123` → `user:*`, `session:3f0c…` → `session:*`, `order42:items` → `order*:items`).
 */
export function redisKeyPattern(key: string): string {
  const pattern = key
    .split(':')
    .map((part) =>
      part
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '*')
        .replace(/\b[0-9a-f]{16,}\b/gi, '*')
        .replace(/[0-9]+/g, '*')
        .replace(/\*+/g, '*'),
    )
    .join(':');
  return pattern.length > 200 ? `${pattern.slice(0, 200)}…` : pattern;
}

// ---------------------------------------------------------------------------------------------------------
// Client

/** A private client: no retries, no offline queue, commands time out after `timeoutMs`. */
function rawClient(server: RedisServer, timeoutMs: number): Redis {
  const client = new Redis(server.url, {
    ...(server.password !== undefined ? { password: server.password } : {}),
    lazyConnect: true,
    connectTimeout: 3_000,
    commandTimeout: Math.max(1_000, timeoutMs),
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    reconnectOnError: () => false,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    autoResubscribe: false,
    connectionName: 'dbops-assess',
  });
  // Failures surface through the command that hit them; a refused AUTH only through this event (the command
  // that follows then fails with "Stream isn't writeable"), so the last one is kept for the report.
  client.on('error', (err: Error) => lastErrors.set(client, err));
  return client;
}

/** The last 'error' event of each client of this module. */
const lastErrors = new WeakMap<Redis, Error>();

/** The error to report for a failed command: the connection's own error when the command only saw its effect. */
function rootCause(client: Redis, err: unknown): unknown {
  const last = lastErrors.get(client);
  return last && /Stream isn't writeable|Connection is closed/i.test((err as Error)?.message ?? '') ? last : err;
}

/** Connects and checks the login with PING; failures are thrown as classified DbopsErrors where known. */
async function connectOrThrow(client: Redis, url: string): Promise<void> {
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    const cause = rootCause(client, err);
    throw classifyDriverError(cause, redisLabel(url)) ?? cause;
  }
}

/** `redis://host:port/db` without credentials. */
function redisLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}:${u.port || 6379}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return redactSecrets(url);
  }
}

/** A secret-free one-line reason for a failure. */
function reason(err: unknown, label: string): string {
  const classified = classifyDriverError(err, label);
  const message = (classified ?? (err as Error))?.message ?? String(err);
  return redactSecrets(classified ? message : `${label}: ${message}`);
}

/** CONFIG GET of `names`; a refused CONFIG (ACL, renamed command) gives an empty map. */
async function configGet(client: Redis, names: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of names) {
    try {
      const reply = (await client.call('CONFIG', 'GET', name)) as string[];
      for (let i = 0; i + 1 < reply.length; i += 2) out.set(reply[i]!, reply[i + 1]!);
    } catch {
      return out;
    }
  }
  return out;
}

/** `name:value` lines of INFO. */
function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) out.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return out;
}

/** `dbN:keys=…,expires=…` of INFO keyspace. */
function parseKeyspaceInfo(info: Map<string, string>): Record<string, { keys: number; expires: number }> {
  const out: Record<string, { keys: number; expires: number }> = {};
  for (const [name, value] of info) {
    if (!/^db\d+$/.test(name)) continue;
    const field = (f: string): number => Number(new RegExp(`(?:^|,)${f}=(\\d+)`).exec(value)?.[1] ?? 0);
    out[name] = { keys: field('keys'), expires: field('expires') };
  }
  return out;
}

/** One `cmdstat_<name>:calls=…,usec=…,usec_per_call=…` line. */
interface CommandStat {
  name: string;
  calls: number;
  usecPerCall: number;
}

function parseCommandStats(text: string): CommandStat[] {
  const out: CommandStat[] = [];
  for (const match of text.matchAll(/^cmdstat_([^:]+):(.*)$/gm)) {
    const field = (f: string): number => Number(new RegExp(`(?:^|,)${f}=([0-9.]+)`).exec(match[2]!)?.[1] ?? 0);
    out.push({ name: match[1]!.toLowerCase(), calls: field('calls'), usecPerCall: field('usec_per_call') });
  }
  return out;
}

/** What the usage counters and slow-log patterns need of a command. */
interface CommandInfo {
  family: string;
  access: 'read' | 'write' | 'none';
  /** Position of the first key argument (0: none). */
  firstKey: number;
}

/** ACL category → family, in the order they are looked for. */
const FAMILIES: [string, string][] = [
  ['@string', 'string'],
  ['@hash', 'hash'],
  ['@list', 'list'],
  ['@set', 'set'],
  ['@sortedset', 'zset'],
  ['@stream', 'stream'],
  ['@geo', 'geo'],
  ['@hyperloglog', 'hyperloglog'],
  ['@bitmap', 'bitmap'],
  ['@pubsub', 'pubsub'],
  ['@scripting', 'scripting'],
  ['@transaction', 'transaction'],
  ['@keyspace', 'keyspace'],
];

/** Families of common commands for servers without ACL categories (before 6.0). */
const LEGACY_FAMILIES: Record<string, string> = Object.fromEntries(
  Object.entries({
    string:
      'get set setnx setex psetex mget mset msetnx incr incrby incrbyfloat decr decrby append strlen getrange setrange getset substr',
    hash: 'hget hset hsetnx hmget hmset hdel hlen hexists hkeys hvals hgetall hincrby hincrbyfloat hscan hstrlen',
    list: 'lpush rpush lpushx rpushx lpop rpop llen lrange lindex lset lrem ltrim linsert blpop brpop brpoplpush rpoplpush',
    set: 'sadd srem smembers sismember scard spop srandmember smove sinter sinterstore sunion sunionstore sdiff sdiffstore sscan',
    zset: 'zadd zrem zcard zcount zincrby zrange zrangebyscore zrevrange zrevrangebyscore zrank zrevrank zscore zscan zremrangebyrank zremrangebyscore zunionstore zinterstore zlexcount zrangebylex zpopmin zpopmax',
    stream: 'xadd xrange xrevrange xlen xread xreadgroup xack xdel xtrim xpending xclaim',
    keyspace:
      'del unlink exists expire pexpire expireat pexpireat ttl pttl persist type rename renamenx keys scan randomkey touch',
    bitmap: 'setbit getbit bitcount bitpos bitop bitfield',
    hyperloglog: 'pfadd pfcount pfmerge',
    pubsub: 'publish',
    scripting: 'eval evalsha',
  }).flatMap(([family, names]) => names.split(' ').map((name) => [name, family])),
);

/** COMMAND INFO of `names` (in batches), mapped to family, access and first key position. */
async function describeCommands(client: Redis, names: string[]): Promise<Map<string, CommandInfo>> {
  const out = new Map<string, CommandInfo>();
  for (let i = 0; i < names.length; i += 100) {
    const batch = names.slice(i, i + 100);
    const replies = (await client.call('COMMAND', 'INFO', ...batch)) as unknown[];
    batch.forEach((name, index) => {
      const reply = replies[index];
      if (!Array.isArray(reply)) return;
      const flags = (Array.isArray(reply[2]) ? reply[2] : []).map((f) => String(f).toLowerCase());
      const categories = (Array.isArray(reply[6]) ? reply[6] : []).map((c) => String(c).toLowerCase());
      const family =
        FAMILIES.find(([category]) => categories.includes(category))?.[1] ??
        LEGACY_FAMILIES[name.split('|')[0]!] ??
        'other';
      const access =
        flags.includes('write') || flags.includes('may_replicate')
          ? 'write'
          : flags.includes('readonly')
            ? 'read'
            : 'none';
      out.set(name, { family, access, firstKey: Number(reply[3] ?? 0) });
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Findings

function replicationFinding(make: Make, info: Map<string, string>): CheckResult {
  const title = 'Replication';
  const role = info.get('role') ?? 'unknown';
  if (role === 'slave' || role === 'replica') {
    const link = info.get('master_link_status') ?? 'unknown';
    const evidence = `replica of ${info.get('master_host') ?? '?'}:${info.get('master_port') ?? '?'}, link ${link}, last I/O ${info.get('master_last_io_seconds_ago') ?? '?'} s ago`;
    return make('redis.replication', 'availability', title, {
      severity: link === 'up' ? 'ok' : 'critical',
      value: link,
      threshold: 'critical when master_link_status is not up',
      evidence,
      recommendation: 'Restore the link to the primary (network, auth, primary up) and check the replica catches up.',
    });
  }
  return make('redis.replication', 'availability', title, {
    severity: 'ok',
    value: role,
    evidence: `role ${role}, ${info.get('connected_slaves') ?? '0'} connected replicas`,
  });
}

function memoryFinding(make: Make, rules: AssessmentRules, info: Map<string, string>): CheckResult {
  const title = 'Memory used against its limit';
  const used = Number(info.get('used_memory') ?? NaN);
  const maxmemory = Number(info.get('maxmemory') ?? 0);
  const system = Number(info.get('total_system_memory') ?? 0);
  const limit = maxmemory > 0 ? maxmemory : system;
  if (!Number.isFinite(used) || !(limit > 0)) {
    return make('redis.memory', 'capacity', title, {
      severity: 'unknown',
      value: null,
      evidence: 'INFO reports neither maxmemory nor total_system_memory',
    });
  }
  const pct = round((used / limit) * 100);
  const against =
    maxmemory > 0
      ? `maxmemory ${formatBytes(maxmemory)}`
      : `total system memory ${formatBytes(system)} (no maxmemory set)`;
  return make('redis.memory', 'capacity', title, {
    severity: pct > rules.redis.memoryWarnPct ? 'warning' : 'ok',
    value: pct,
    threshold: `warn > ${rules.redis.memoryWarnPct} % of maxmemory (of system memory when maxmemory is 0)`,
    evidence: `used_memory ${formatBytes(used)} of ${against}`,
    recommendation:
      maxmemory > 0
        ? 'Raise maxmemory, add memory, or shrink the data (TTLs, smaller encodings).'
        : 'Set maxmemory below the host memory (leave room for fork copy-on-write) and add memory or shrink the data.',
  });
}

function evictionFinding(
  make: Make,
  info: Map<string, string>,
  config: Map<string, string>,
  cache: boolean,
  useEvidence: string,
): CheckResult {
  const title = 'Eviction policy fits the use';
  const policy = info.get('maxmemory_policy') ?? config.get('maxmemory-policy');
  if (policy === undefined)
    return make('redis.eviction_policy', 'durability', title, {
      severity: 'unknown',
      value: null,
      evidence: 'maxmemory_policy not reported',
    });
  const maxmemory = Number(info.get('maxmemory') ?? config.get('maxmemory') ?? 0);
  const evicted = Number(info.get('evicted_keys') ?? 0);
  const evidence = `maxmemory-policy ${policy}, maxmemory ${maxmemory > 0 ? formatBytes(maxmemory) : 'none'}, ${evicted} keys evicted; ${useEvidence}`;
  if (!cache && policy.startsWith('allkeys-') && maxmemory > 0) {
    return make('redis.eviction_policy', 'durability', title, {
      severity: 'warning',
      value: policy,
      evidence,
      recommendation:
        'A data store must not lose keys under memory pressure: use noeviction (or a volatile-* policy if only TTL keys may go).',
    });
  }
  if (cache && policy === 'noeviction' && maxmemory > 0) {
    return make('redis.eviction_policy', 'durability', title, {
      severity: 'info',
      value: policy,
      evidence,
      recommendation: 'A cache at maxmemory with noeviction refuses writes; allkeys-lru or allkeys-lfu evicts instead.',
    });
  }
  return make('redis.eviction_policy', 'durability', title, { severity: 'ok', value: policy, evidence });
}

function fragmentationFinding(make: Make, rules: AssessmentRules, info: Map<string, string>): CheckResult {
  const title = 'Memory fragmentation';
  const ratio = Number(info.get('mem_fragmentation_ratio') ?? NaN);
  const used = Number(info.get('used_memory') ?? 0);
  const rss = Number(info.get('used_memory_rss') ?? 0);
  const bytes = Number(info.get('mem_fragmentation_bytes') ?? rss - used);
  if (!Number.isFinite(ratio))
    return make('redis.fragmentation', 'performance', title, {
      severity: 'unknown',
      value: null,
      evidence: 'mem_fragmentation_ratio not reported',
    });
  const r = rules.redis;
  const threshold = `warn: ratio > ${r.fragmentationRatioWarn} and > ${formatBytes(r.fragmentationMinBytes)} fragmented; ratio < 1 (swapping)`;
  const evidence = `mem_fragmentation_ratio ${ratio}, ${formatBytes(bytes)} (rss ${formatBytes(rss)}, used ${formatBytes(used)})`;
  if (ratio < 1) {
    return make('redis.fragmentation', 'performance', title, {
      severity: 'warning',
      value: ratio,
      threshold,
      evidence: `${evidence}: less resident than used, the OS is swapping Redis out`,
      recommendation: 'Stop the swapping: more memory, a lower maxmemory, or fewer processes on the host.',
    });
  }
  return make('redis.fragmentation', 'performance', title, {
    severity: ratio > r.fragmentationRatioWarn && bytes > r.fragmentationMinBytes ? 'warning' : 'ok',
    value: ratio,
    threshold,
    evidence:
      ratio > r.fragmentationRatioWarn && bytes <= r.fragmentationMinBytes
        ? `${evidence}: a high ratio of few bytes is normal for a small instance`
        : evidence,
    recommendation: 'Enable activedefrag (jemalloc builds) or restart the instance in a quiet hour.',
  });
}

function persistenceFindings(
  make: Make,
  rules: AssessmentRules,
  info: Map<string, string>,
  config: Map<string, string>,
  cache: boolean,
  useEvidence: string,
): CheckResult[] {
  const out: CheckResult[] = [];
  const save = config.get('save');
  const rdb = save === undefined ? null : save.trim() !== '';
  const aof = info.get('aof_enabled') === '1' || config.get('appendonly') === 'yes';
  const kinds = [rdb ? `RDB (save ${save})` : null, aof ? 'AOF' : null].filter(Boolean).join(' + ');
  if (rdb === null && !aof) {
    out.push(
      make('redis.persistence', 'durability', 'Persistence configured (RDB or AOF)', {
        severity: 'unknown',
        value: null,
        evidence: 'CONFIG GET save was refused and AOF is off: whether RDB snapshots are scheduled is unknown',
      }),
    );
  } else {
    out.push(
      make('redis.persistence', 'durability', 'Persistence configured (RDB or AOF)', {
        severity: rdb || aof ? 'ok' : cache ? 'info' : 'warning',
        value: rdb || aof ? kinds : 'none',
        evidence:
          rdb || aof
            ? `${kinds}; ${useEvidence}`
            : `no RDB save points and AOF off: a restart loses every key; ${useEvidence}`,
        recommendation: cache
          ? 'A cache may run without persistence; configure RDB save points if a cold start is costly.'
          : 'Configure RDB save points (e.g. save 3600 1 300 100 60 10000) and/or appendonly yes; a restart now loses every key.',
      }),
    );
  }

  const bgsave = info.get('rdb_last_bgsave_status') ?? 'ok';
  const lastSave = Number(info.get('rdb_last_save_time') ?? NaN);
  const changes = Number(info.get('rdb_changes_since_last_save') ?? 0);
  if (bgsave !== 'ok' || rdb === true) {
    const ageHours = Number.isFinite(lastSave) ? round((Date.now() / 1000 - lastSave) / 3600) : null;
    const r = rules.redis;
    const severity =
      bgsave !== 'ok'
        ? 'critical'
        : ageHours !== null && changes > 0 && ageHours > r.lastSaveCriticalHours
          ? 'critical'
          : ageHours !== null && changes > 0 && ageHours > r.lastSaveWarnHours
            ? 'warning'
            : 'ok';
    out.push(
      make('redis.last_save', 'durability', 'Last RDB snapshot', {
        severity,
        value: ageHours,
        threshold: `warn > ${r.lastSaveWarnHours} h, critical > ${r.lastSaveCriticalHours} h with unsaved changes; critical when the last bgsave failed`,
        evidence: `rdb_last_bgsave_status ${bgsave}, last save ${ageHours ?? '?'} h ago, ${changes} changes since`,
        recommendation:
          bgsave !== 'ok'
            ? 'The last background save failed: check the Redis log (disk full, permissions, fork failing for memory).'
            : 'Snapshots are not being taken: check the save points and the Redis log.',
      }),
    );
  }
  if (aof) {
    const write = info.get('aof_last_write_status') ?? 'ok';
    const rewrite = info.get('aof_last_bgrewrite_status') ?? 'ok';
    out.push(
      make('redis.aof', 'durability', 'Append-only file writes', {
        severity: write === 'ok' && rewrite === 'ok' ? 'ok' : 'critical',
        value: write,
        evidence: `aof_last_write_status ${write}, aof_last_bgrewrite_status ${rewrite}`,
        recommendation: 'AOF writes are failing: check the Redis log (disk full, permissions).',
      }),
    );
  }
  return out;
}

function clientFindings(
  make: Make,
  rules: AssessmentRules,
  info: Map<string, string>,
  config: Map<string, string>,
): CheckResult[] {
  const connected = Number(info.get('connected_clients') ?? NaN);
  const maxclients = Number(info.get('maxclients') ?? config.get('maxclients') ?? NaN);
  const rejected = Number(info.get('rejected_connections') ?? NaN);
  const pct = round((connected / maxclients) * 100);
  return [
    Number.isFinite(pct)
      ? make('redis.clients', 'capacity', 'Clients against maxclients', {
          severity: pct > rules.redis.clientsWarnPct ? 'warning' : 'ok',
          value: pct,
          threshold: `warn > ${rules.redis.clientsWarnPct} %`,
          evidence: `${connected} clients of maxclients ${maxclients}`,
          recommendation: 'Raise maxclients (and the open-files limit) or pool connections in the applications.',
        })
      : make('redis.clients', 'capacity', 'Clients against maxclients', {
          severity: 'unknown',
          value: null,
          evidence: 'maxclients not reported by INFO and CONFIG GET refused',
        }),
    make('redis.rejected_connections', 'capacity', 'Rejected connections', {
      severity: rejected > 0 ? 'warning' : 'ok',
      value: Number.isFinite(rejected) ? rejected : null,
      threshold: 'warn > 0',
      evidence: `${Number.isFinite(rejected) ? rejected : '?'} connections rejected (maxclients reached) since start`,
      recommendation: 'Clients were turned away at maxclients: raise it or find the client leaking connections.',
    }),
  ];
}

function hitRateFinding(
  make: Make,
  rules: AssessmentRules,
  info: Map<string, string>,
  cache: boolean,
  useEvidence: string,
): CheckResult {
  const hits = Number(info.get('keyspace_hits') ?? 0);
  const misses = Number(info.get('keyspace_misses') ?? 0);
  const lookups = hits + misses;
  const pct = lookups > 0 ? round((hits / lookups) * 100) : null;
  const evidence = `${hits} hits, ${misses} misses since start; ${useEvidence}${cache ? '' : ' — the hit rate only matters for a cache'}`;
  return make('redis.hit_rate', 'performance', 'Keyspace hit rate', {
    severity: cache && pct !== null && pct < rules.redis.hitRateWarnPct ? 'warning' : 'ok',
    value: pct,
    threshold: `warn < ${rules.redis.hitRateWarnPct} % (caches only)`,
    evidence,
    recommendation:
      'Misses go to the backing store: check TTLs, key naming between writers and readers, and maxmemory.',
  });
}

// ---------------------------------------------------------------------------------------------------------
// Volume

/**
 * Keys per database (INFO keyspace) and per key pattern: SCAN (COUNT 1000) up to {@link SCAN_CAP_PER_DB} keys
 * per database, counts scaled to the database's key count when the scan stopped early (`rowsExact` false),
 * bytes from MEMORY USAGE of a sample of each pattern's keys times its key count (always an estimate).
 */
async function volumeOf(
  client: Redis,
  target: string,
  keyspace: Record<string, { keys: number; expires: number }>,
  usedMemory: number,
  signal: AbortSignal | undefined,
): Promise<VolumeReport> {
  const tables: TableVolume[] = [];
  for (const [db, { keys }] of Object.entries(keyspace)) {
    signal?.throwIfAborted();
    await client.select(Number(db.slice(2)));
    const seen = new Set<string>();
    let cursor = '0';
    let complete = false;
    do {
      const [next, batch] = await client.scan(cursor, 'COUNT', 1000);
      for (const key of batch) seen.add(key);
      cursor = next;
      if (cursor === '0') complete = true;
    } while (!complete && seen.size < SCAN_CAP_PER_DB);

    const byPattern = new Map<string, string[]>();
    for (const key of seen) {
      let pattern = redisKeyPattern(key);
      if (!byPattern.has(pattern) && byPattern.size >= MAX_PATTERNS_PER_DB) pattern = '(other)';
      const list = byPattern.get(pattern) ?? [];
      list.push(key);
      byPattern.set(pattern, list);
    }
    const scale = complete || seen.size === 0 ? 1 : keys / seen.size;
    const perPattern = Math.max(
      1,
      Math.min(MEMORY_SAMPLES_PER_PATTERN, Math.floor(MEMORY_SAMPLES_PER_DB / Math.max(1, byPattern.size))),
    );
    for (const [pattern, list] of byPattern) {
      const sample = list.slice(0, perPattern);
      const pipeline = client.pipeline();
      for (const key of sample) pipeline.call('MEMORY', 'USAGE', key);
      const replies = (await pipeline.exec()) ?? [];
      const sizes = replies
        .map(([err, bytes]) => (err ? NaN : Number(bytes)))
        .filter((b) => Number.isFinite(b) && b > 0);
      const rows = Math.round(list.length * scale);
      const avg = sizes.length > 0 ? sizes.reduce((a, b) => a + b, 0) / sizes.length : 0;
      tables.push({
        name: `${db}:${pattern}`,
        rows,
        rowsExact: complete,
        dataBytes: Math.round(avg * rows),
        indexBytes: 0,
      });
    }
  }
  tables.sort((a, b) => b.dataBytes - a.dataBytes || a.name.localeCompare(b.name));
  return { target, engine: 'redis', totalBytes: Number.isFinite(usedMemory) ? usedMemory : 0, tables };
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'for an unknown time';
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min ${Math.floor(seconds % 60)} s`;
}
