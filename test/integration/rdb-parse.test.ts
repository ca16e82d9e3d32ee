/**
 * parseRdb against snapshots written by the real redis-server: a throwaway server (its own unix socket and
 * temp directory; the shared Redis at 6379 is never touched) is filled with every value type and encoding in
 * several databases and SAVEd, and the parsed counts must equal what `INFO keyspace` reports. Damaged copies
 * (truncated, a flipped type byte, hand-made broken files) must fail with BackupCorrupt naming the offset.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRdb } from '../../activities/redis/rdb-parse';
import { DbopsError, ErrorCode } from '../../common/errors';
import { type RedisServerProcess, startRedisServer } from '../support/redis-server';

interface ScratchServer {
  server: RedisServerProcess;
  client: Redis;
  dir: string;
}

/** Starts redis-server on a unix socket in `dir` (no TCP port, no automatic saves), ready to answer. */
async function startServer(dir: string, extra: string[] = []): Promise<ScratchServer> {
  const socket = join(dir, 's.sock');
  const server = await startRedisServer({
    dir,
    socket,
    args: ['--save', '', '--appendonly', 'no', '--enable-debug-command', 'yes', ...extra],
  });
  const client = new Redis({ path: socket });
  client.on('error', () => undefined);
  return { server, client, dir };
}

async function stopServer(scratch: ScratchServer | undefined): Promise<void> {
  if (!scratch) return;
  scratch.client.disconnect();
  await scratch.server.stop('SIGKILL');
}

/** `INFO keyspace` as { db0: { keys, expires } }. */
async function keyspace(client: Redis): Promise<{ keys: Record<string, number>; expires: Record<string, number> }> {
  const keys: Record<string, number> = {};
  const expires: Record<string, number> = {};
  for (const line of (await client.info('keyspace')).split('\n')) {
    const match = /^(db\d+):keys=(\d+),expires=(\d+)/.exec(line.trim());
    if (!match) continue;
    keys[match[1]!] = Number(match[2]);
    expires[match[1]!] = Number(match[3]);
  }
  return { keys, expires };
}

/** Fills several databases with every type and encoding Redis 7 writes. */
async function fillEveryType(client: Redis): Promise<void> {
  const range = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
  // db0: strings (raw, int-encoded, LZF-compressed, binary, empty, larger than the parser's buffer) and TTLs.
  await client.select(0);
  await client.set('s:short', 'hello');
  await client.set('s:int', '12345');
  await client.set('s:int16', '-30000');
  await client.set('s:int32', '2000000000');
  await client.set('s:bigint', '123456789012345');
  await client.set('s:long', 'compressible-'.repeat(100));
  await client.set('s:binary', randomBytes(5000));
  await client.set('s:empty', '');
  await client.set('s:huge', randomBytes(3 * 1024 * 1024));
  await client.set('corrupt:target', 'v');
  await client.set('t:ex', 'v', 'EX', 3600);
  await client.set('t:px', 'compressible-'.repeat(50), 'PX', 7_200_000);
  // db1: lists, listpack-sized and quicklists of many nodes, some nodes LZF-compressed in memory, plain nodes.
  await client.select(1);
  await client.rpush('l:small', 'a', 'b', 'c', '1', '2');
  await client.rpush('l:ints', ...range(300, (i) => String(i)));
  await client.rpush('l:big', ...range(20_000, (i) => `item-${i}-some-padding-text`));
  await client.config('SET', 'list-compress-depth', '1');
  await client.rpush('l:deep', ...range(20_000, (i) => `deep-${i}-padding-padding`));
  await client.config('SET', 'list-compress-depth', '0');
  await client.call('DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '1000');
  await client.rpush('l:plain', 'x'.repeat(2000), 'small', randomBytes(3000), 'y'.repeat(5000));
  await client.call('DEBUG', 'QUICKLIST-PACKED-THRESHOLD', String(1 << 30));
  await client.expire('l:small', 3600);
  // db2: sets (intset, small strings, hashtable, large intset turned hashtable).
  await client.select(2);
  await client.sadd('set:ints', ...range(50, (i) => String(i * 3)));
  await client.sadd('set:small', 'a', 'b', 'c');
  await client.sadd('set:big', ...range(500, (i) => `member-${i}`));
  await client.sadd('set:bigints', ...range(1000, (i) => String(i)));
  await client.sadd('set:wide', '1', String(2 ** 40));
  // db3: sorted sets, listpack and skiplist.
  await client.select(3);
  await client.zadd('z:small', ...range(10, (i) => [String(i / 3), `m${i}`]).flat());
  await client.zadd('z:big', ...range(500, (i) => [String(i * 1.5), `member-${i}`]).flat());
  await client.zadd('z:inf', '-inf', 'low', '+inf', 'high');
  await client.pexpire('z:big', 9_000_000);
  // db4: hashes, listpack and hashtable (by count: more than hash-max-listpack-entries 512; by value size).
  await client.select(4);
  await client.hset('h:small', Object.fromEntries(range(10, (i) => [`f${i}`, `v${i}`])));
  await client.hset('h:big', Object.fromEntries(range(1000, (i) => [`field-${i}`, `value-${i}`])));
  await client.hset('h:longval', 'f', 'z'.repeat(100));
  // db5: streams with consumer groups, pending entries, several listpack nodes, empty streams.
  await client.select(5);
  for (let i = 0; i < 10; i++) await client.xadd('st:a', '*', 'n', String(i), 'payload', 'p'.repeat(i));
  await client.xgroup('CREATE', 'st:a', 'g1', '0');
  await client.xreadgroup('GROUP', 'g1', 'alice', 'COUNT', '3', 'STREAMS', 'st:a', '>');
  await client.xreadgroup('GROUP', 'g1', 'bob', 'COUNT', '2', 'STREAMS', 'st:a', '>');
  await client.xgroup('CREATE', 'st:a', 'g2', '$');
  await client.xgroup('CREATECONSUMER', 'st:a', 'g2', 'carol');
  const [first] = await client.xrange('st:a', '-', '+', 'COUNT', 1);
  await client.xack('st:a', 'g1', first![0]);
  const pipeline = client.pipeline();
  for (let i = 0; i < 1000; i++) pipeline.xadd('st:big', '*', 'k', String(i), 'v', `value-${i}`);
  await pipeline.exec();
  const id = await client.xadd('st:emptied', '*', 'f', 'v');
  await client.xdel('st:emptied', id!);
  await client.xgroup('CREATE', 'st:new', 'g', '$', 'MKSTREAM');
  await client.expire('st:big', 3600);
  // db9 and db15: small databases further away; many small keys in db7 across many buffer refills.
  await client.select(9);
  await client.set('nine', '9', 'EX', 100);
  await client.select(15);
  await client.set('fifteen', '15');
  await client.select(7);
  await client.call('DEBUG', 'POPULATE', '50000', 'pop', '10');
  // A function library (FUNCTION2 opcode) and an unrelated AUX-carrying save.
  await client.call(
    'FUNCTION',
    'LOAD',
    'REPLACE',
    "#!lua name=dbopslib\nredis.register_function('dbops_one', function() return 1 end)",
  );
  await client.select(0);
}

// Builders for hand-made RDB records (src/rdb.c layouts): only headers matter to the parser, the payload is filler.
const bytes = (...parts: (number | string | Buffer)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : Buffer.from(p))));
/** A string with a 6-bit or 14-bit length. */
function str(s: string | Buffer): Buffer {
  const n = Buffer.from(s).length;
  return n < 64 ? bytes(n, s) : bytes(0x40 | (n >> 8), n & 0xff, s);
}
/** A listpack of `n` one-byte integers. */
function listpack(n: number): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt32LE(6 + 2 * n + 1, 0);
  head.writeUInt16LE(n, 4);
  return Buffer.concat([head, Buffer.alloc(2 * n, 1), Buffer.from([0xff])]);
}
/** A ziplist of `n` small-integer entries. */
function ziplist(n: number): Buffer {
  const head = Buffer.alloc(10);
  head.writeUInt32LE(10 + 2 * n + 1, 0);
  head.writeUInt32LE(n ? 10 + 2 * (n - 1) : 10, 4);
  head.writeUInt16LE(n, 8);
  return Buffer.concat([
    head,
    Buffer.from(Array.from({ length: 2 * n }, (_, i) => (i % 2 ? 0xf2 : i ? 2 : 0))),
    bytes(0xff),
  ]);
}
/** A 16-bit intset of 1..n. */
function intset(n: number): Buffer {
  const out = Buffer.alloc(8 + 2 * n);
  out.writeUInt32LE(2, 0);
  out.writeUInt32LE(n, 4);
  for (let i = 0; i < n; i++) out.writeInt16LE(i + 1, 8 + 2 * i);
  return out;
}
/** `data` as an RDB LZF string made of literal runs only (valid LZF, no compression). */
function lzfLiteral(data: Buffer): Buffer {
  const runs: Buffer[] = [];
  for (let i = 0; i < data.length; i += 32) {
    const run = data.subarray(i, i + 32);
    runs.push(bytes(run.length - 1, run));
  }
  const compressed = Buffer.concat(runs);
  return bytes(0xc3, compressed.length, data.length, compressed);
}

/** A version 11 file holding every record the 7.0 server here does not write, with the keys it should count. */
function handMadeSnapshot(): { file: Buffer; keyCounts: Record<string, number>; expiringKeys: Record<string, number> } {
  const lp20 = listpack(20);
  // LZF with a back reference: the header and first entry as literals, then 38 bytes copied from 2 back.
  const lzfBackRef = bytes(0xc3, 14, lp20.length, 7, lp20.subarray(0, 8), (7 << 5) | 0, 38 - 9, 1, 0, 0xff);
  const id = Buffer.alloc(16, 7);
  const time = Buffer.alloc(8, 1);
  const file = Buffer.concat([
    Buffer.from('REDIS0011'),
    bytes(0xfa, str('redis-ver'), str('7.2.4')),
    bytes(0xf6, str('lib'), str('LUA'), 1, str('a description'), str('return 1')), // FUNCTION (7.0 RC)
    bytes(0xf5, str("#!lua name=x\nredis.register_function('x', function() return 1 end)")), // FUNCTION2
    bytes(0xf7, 0x80, 0, 0, 1, 2, 2, 2, 1, 5, 2, 0x80, 0, 0, 1, 0, 5, str('abc'), 3, 'ffff', 4, 'dddddddd', 0), // MODULE_AUX
    bytes(0xfe, 0, 0xfb, 20, 1),
    bytes(1, str('list'), 2, str('a'), str('b')), // list (RDB < 7)
    bytes(3, str('zset'), 2, str('m1'), 3, '1.5', str('m2'), 0xfe), // zset with text scores, one +inf
    bytes(14, str('quicklist'), 2, str(ziplist(2)), str(ziplist(0))), // quicklist of ziplists
    bytes(14, str('quicklist-empty'), 1, str(ziplist(0))), // every node empty: Redis skips the key
    bytes(10, str('ziplist-list'), str(ziplist(3))),
    bytes(12, str('ziplist-zset'), str(ziplist(4))),
    bytes(13, str('ziplist-hash-empty'), str(ziplist(0))), // empty: skipped
    bytes(11, str('intset'), str(intset(5))),
    bytes(9, str('zipmap'), str(bytes(1, 1, 'a', 1, 0, 'b', 0xff))),
    bytes(20, str('set-listpack'), str(listpack(3))), // 7.2
    bytes(20, str('set-listpack-empty'), str(listpack(0))), // empty: skipped
    bytes(16, str('hash-lzf'), lzfLiteral(listpack(4))),
    bytes(17, str('zset-lzf-backref'), lzfBackRef),
    bytes(18, str('quicklist2'), 2, 1, str('a plain node'), 2, lzfLiteral(listpack(2))),
    bytes(0, 0xc0, 42, 0xc3, 4, 3, 2, 'abc'), // a key stored as an 8-bit integer, an LZF value
    bytes(0xfe, 3),
    bytes(0xf8, 10, 0xf9, 5, 0xfd, 'tttt'), // IDLE, FREQ, EXPIRETIME (seconds) of the next key
    // Stream v3 (7.2): one node, 8 metadata numbers, one group with one pending entry owned by one consumer.
    bytes(21, str('stream'), 1, str(id), str(listpack(3)), 1, 1, 0, 1, 0, 0, 0, 1),
    bytes(1, str('group'), 1, 0, 1, 1, id, time, 1, 1, str('consumer'), time, time, 1, id),
    bytes(19, str('stream-v2'), 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, str('g'), 0, 0, 0, 0, 1, str('c'), time, 0),
    bytes(15, str('stream-v1'), 1, str(id), str(listpack(1)), 1, 1, 0, 0),
    bytes(0xff),
    Buffer.alloc(8),
  ]);
  return { file, keyCounts: { db0: 12, db3: 3 }, expiringKeys: { db0: 0, db3: 1 } };
}

describe('parseRdb on snapshots written by redis-server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dbops-rdb-parse-'));
  let server: ScratchServer | undefined;
  let second: ScratchServer | undefined;
  const dump = join(dir, 'dump.rdb');

  beforeAll(async () => {
    server = await startServer(dir);
    await fillEveryType(server.client);
  });

  afterAll(async () => {
    await stopServer(server);
    await stopServer(second);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const policy of ['noeviction', 'allkeys-lru', 'allkeys-lfu']) {
    it(`counts every key the way INFO keyspace does (maxmemory-policy ${policy}: ${policy === 'noeviction' ? 'no' : policy.endsWith('lru') ? 'IDLE' : 'FREQ'} opcodes)`, async () => {
      const { client } = server!;
      await client.config('SET', 'maxmemory-policy', policy);
      await client.save();
      const expected = await keyspace(client);
      const parsed = await parseRdb(dump);
      expect(parsed.rdbVersion).toBeGreaterThanOrEqual(10);
      expect(parsed.bytes).toBe(statSync(dump).size);
      expect(parsed.keyCounts).toEqual(expected.keys);
      expect(parsed.expiringKeys).toEqual(expected.expires);
      expect(Object.keys(parsed.keyCounts)).toEqual(['db0', 'db1', 'db2', 'db3', 'db4', 'db5', 'db7', 'db9', 'db15']);
    });
  }

  it('parses hand-made records of the types and opcodes this redis-server does not write', async () => {
    const { file, keyCounts, expiringKeys } = handMadeSnapshot();
    const path = join(dir, 'hand-made.rdb');
    writeFileSync(path, file);
    expect(await parseRdb(path)).toEqual({ rdbVersion: 11, keyCounts, expiringKeys, bytes: file.length });
  });

  it('every truncation fails with BackupCorrupt; a flipped byte never fails with anything but a DbopsError', async () => {
    const { file } = handMadeSnapshot();
    const path = join(dir, 'fuzz.rdb');
    for (let length = 0; length < file.length; length++) {
      writeFileSync(path, file.subarray(0, length));
      const err = await parseRdb(path).catch((e: unknown) => e);
      expect(err, `cut at ${length}`).toMatchObject({ code: ErrorCode.BackupCorrupt });
    }
    for (let at = 9; at < file.length; at++) {
      for (const value of [0x00, 0x40, 0x81, 0xc3, 0xff, file[at]! ^ 0x01]) {
        const copy = Buffer.from(file);
        copy[at] = value;
        writeFileSync(path, copy);
        const err = await parseRdb(path).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (err !== undefined) expect(err, `byte ${at} = ${value}`).toBeInstanceOf(DbopsError);
      }
    }
    const real = readFileSync(dump);
    for (let i = 1; i <= 40; i++) {
      const length = Math.floor((real.length * i) / 41);
      writeFileSync(path, real.subarray(0, length));
      await expect(parseRdb(path), `cut at ${length}`).rejects.toMatchObject({ code: ErrorCode.BackupCorrupt });
    }
  });

  it('a truncated copy, a copy without its last byte and one cut before EOF fail with BackupCorrupt', async () => {
    const whole = readFileSync(dump);
    for (const [name, length, message] of [
      ['half.rdb', Math.floor(whole.length / 2), /damaged/],
      ['short-checksum.rdb', whole.length - 1, /checksum/],
      ['no-eof.rdb', whole.length - 9, /without the EOF opcode/],
    ] as const) {
      const copy = join(dir, name);
      writeFileSync(copy, whole.subarray(0, length));
      const err = await parseRdb(copy).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DbopsError);
      expect(err).toMatchObject({ code: ErrorCode.BackupCorrupt });
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toContain(copy);
      expect((err as Error).message).toMatch(/at byte \d+/);
    }
  });

  it('a copy with a corrupted type byte fails with BackupCorrupt; a module type fails clearly', async () => {
    const whole = readFileSync(dump);
    const name = Buffer.from('corrupt:target');
    const at = whole.indexOf(name);
    expect(at).toBeGreaterThan(2);
    expect(whole[at - 1]).toBe(name.length); // the key's 6-bit length
    expect(whole[at - 2]).toBe(0); // the string type byte
    const copy = join(dir, 'bad-type.rdb');
    const bad = Buffer.from(whole);
    bad[at - 2] = 8; // no such type
    writeFileSync(copy, bad);
    await expect(parseRdb(copy)).rejects.toMatchObject({
      code: ErrorCode.BackupCorrupt,
      message: expect.stringMatching(new RegExp(`at byte ${at - 2}.*unknown value type 8.*damaged`)),
    });
    bad[at - 2] = 7; // a module value
    writeFileSync(copy, bad);
    await expect(parseRdb(copy)).rejects.toMatchObject({
      code: ErrorCode.BadInput,
      message: expect.stringMatching(/module type, cannot parse/),
    });
  });

  it('hand-made damaged files fail with BackupCorrupt naming what is wrong', async () => {
    const header = Buffer.from('REDIS0011');
    const checksum = Buffer.alloc(8);
    const cases: [string, Buffer, RegExp][] = [
      [
        'length past the end',
        Buffer.concat([header, Buffer.from([0, 1, 0x6b, 0x7f, 0xff, 0x61])]),
        /runs past the end/,
      ],
      [
        'unknown opcode',
        Buffer.concat([header, Buffer.from([0xf4, 0x00]), Buffer.from([0xff]), checksum]),
        /opcode 0xf4/,
      ],
      ['bad length encoding', Buffer.concat([header, Buffer.from([0xfe, 0x85, 0xff]), checksum]), /length encoding/],
      [
        'bytes after checksum',
        Buffer.concat([header, Buffer.from([0xff]), checksum, Buffer.from('x')]),
        /after the end/,
      ],
      ['bad magic', Buffer.from('RDB000011xxxxxxxxxxxx'), /does not start with "REDIS"/],
      ['empty file', Buffer.alloc(0), /does not start with "REDIS"/],
      ['stream id of 3 bytes', Buffer.concat([header, Buffer.from([21, 1, 0x6b, 1, 3, 1, 2, 3])]), /stream node ID/],
      [
        'intset of wrong size',
        Buffer.concat([header, Buffer.from([11, 1, 0x6b, 9, 2, 0, 0, 0, 9, 0, 0, 0, 1])]),
        /intset/,
      ],
    ];
    for (const [label, bytes, message] of cases) {
      const path = join(dir, `crafted-${label.replaceAll(' ', '-')}.rdb`);
      writeFileSync(path, bytes);
      const err = await parseRdb(path).catch((e: unknown) => e);
      expect(err, label).toMatchObject({ code: ErrorCode.BackupCorrupt });
      expect((err as Error).message, label).toMatch(message);
    }
    const newer = join(dir, 'crafted-v12.rdb');
    writeFileSync(newer, Buffer.concat([Buffer.from('REDIS0012'), Buffer.from([0xff]), checksum]));
    await expect(parseRdb(newer)).rejects.toMatchObject({ code: ErrorCode.BadInput });
  });

  it('empty collections are skipped exactly as redis-server skips them when loading', async () => {
    // db0: an empty list, an empty hash and an empty listpack hash (Redis drops these on load), one real key;
    // db2: only an empty set (so no db2 line at all). A zero checksum means "not computed": Redis loads it.
    const emptyListpack = Buffer.from([7, 0, 0, 0, 0, 0, 0xff]);
    const tomorrow = Buffer.alloc(8);
    tomorrow.writeBigInt64LE(BigInt(Date.now() + 86_400_000));
    const body = Buffer.concat([
      Buffer.from('REDIS0010'),
      Buffer.from([0xfe, 0x00]),
      Buffer.from([1, 1, 0x61, 0]), // list "a", 0 elements
      Buffer.from([4, 1, 0x62, 0]), // hash "b", 0 fields
      Buffer.from([16, 1, 0x63, emptyListpack.length]),
      emptyListpack, // listpack hash "c", 0 entries
      Buffer.from([0xfc]),
      tomorrow, // EXPIRETIME_MS of the next key
      Buffer.from([0, 1, 0x64, 1, 0x78]), // string "d" = "x"
      Buffer.from([0xfe, 0x02]),
      Buffer.from([2, 1, 0x65, 0]), // set "e", 0 members
      Buffer.from([0xff]),
      Buffer.alloc(8),
    ]);
    const loadDir = join(dir, 'load');
    mkdirSync(loadDir);
    writeFileSync(join(loadDir, 'dump.rdb'), body);
    const parsed = await parseRdb(join(loadDir, 'dump.rdb'));
    second = await startServer(loadDir);
    const loaded = await keyspace(second.client);
    expect(parsed.keyCounts).toEqual(loaded.keys);
    expect(parsed.expiringKeys).toEqual(loaded.expires);
    expect(parsed.keyCounts).toEqual({ db0: 1 });
  });

  it('reports its throughput on a ~200 MB snapshot of 1 MB random strings and on many small keys', async () => {
    const { client } = server!;
    await client.flushall();
    for (let i = 0; i < 200; i += 20) {
      const pipeline = client.pipeline();
      for (let j = i; j < i + 20; j++) pipeline.set(`big:${j}`, randomBytes(1024 * 1024));
      await pipeline.exec();
    }
    await client.save();
    let started = performance.now();
    let parsed = await parseRdb(dump);
    let seconds = (performance.now() - started) / 1000;
    expect(parsed.keyCounts).toEqual({ db0: 200 });
    console.log(
      `parseRdb: ${(parsed.bytes / 1e6).toFixed(0)} MB of 1 MB strings in ${(seconds * 1000).toFixed(0)} ms = ${(parsed.bytes / 1e6 / seconds).toFixed(0)} MB/s`,
    );

    await client.flushall();
    await client.call('DEBUG', 'POPULATE', '1000000', 'key', '20');
    await client.save();
    started = performance.now();
    parsed = await parseRdb(dump);
    seconds = (performance.now() - started) / 1000;
    expect(parsed.keyCounts).toEqual({ db0: 1_000_000 });
    console.log(
      `parseRdb: ${(parsed.bytes / 1e6).toFixed(0)} MB holding 1,000,000 small string keys in ${(seconds * 1000).toFixed(0)} ms = ${(1e6 / seconds / 1e6).toFixed(2)} M keys/s, ${(parsed.bytes / 1e6 / seconds).toFixed(0)} MB/s`,
    );
  });

  it('stops when its signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop now'));
    await expect(parseRdb(dump, { signal: controller.signal })).rejects.toThrow('stop now');
  });
});
