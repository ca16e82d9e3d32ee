/**
 * Redis RDB snapshots end to end on real servers: snapshotRdb through the replication handshake (disk-based
 * and diskless primaries, the machine's shared Redis and throwaway ones of the test's own), validateRdb on
 * the result and on damaged copies, and withScratchRedis loading it back with values and TTLs intact. A fake
 * primary on a local socket drives the protocol corners a real server will not produce on demand: framing
 * split across packets, a stalled or cut transfer, an abort.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc64, validateRdb } from '../../activities/redis/rdb-file';
import { snapshotRdb } from '../../activities/redis/rdb-snapshot';
import { keyCountsOf, withScratchRedis } from '../../activities/redis/scratch-server';
import { DbopsError, ErrorCode } from '../../common/errors';
import { freePort, TestRedis } from '../support/redis-server';

const dir = mkdtempSync(join(tmpdir(), 'dbops-rdb-'));
const prefix = `dbops-rdb-${randomUUID().slice(0, 8)}:`;

/** What a test needs of a failure: its code, retryability and message. */
async function failureOf(promise: Promise<unknown>): Promise<DbopsError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DbopsError);
  return err as DbopsError;
}

const sha256Of = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * A minimal RDB file Redis loads: string keys in db 0, EOF opcode and checksum. Large values exercise a
 * payload spread over many packets.
 */
function buildRdb(entries: [string, Buffer][]): Buffer {
  const length = (n: number): Buffer => {
    if (n < 64) return Buffer.from([n]);
    if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
    const b = Buffer.alloc(5);
    b[0] = 0x80;
    b.writeUInt32BE(n, 1);
    return b;
  };
  const str = (s: Buffer): Buffer => Buffer.concat([length(s.length), s]);
  const body = Buffer.concat([
    Buffer.from('REDIS0009'),
    Buffer.from([0xfe, 0x00]),
    ...entries.map(([key, value]) => Buffer.concat([Buffer.from([0x00]), str(Buffer.from(key)), str(value)])),
    Buffer.from([0xff]),
  ]);
  const trailer = Buffer.alloc(8);
  trailer.writeBigUInt64LE(crc64(body));
  return Buffer.concat([body, trailer]);
}

/**
 * A fake primary: answers AUTH/PING/REPLCONF like Redis and hands the socket to `onSync` on SYNC. `closed`
 * resolves when the client's connection goes away.
 */
async function fakePrimary(onSync: (socket: Socket) => void): Promise<{
  url: string;
  synced: Promise<void>;
  closed: Promise<void>;
  server: Server;
}> {
  let markSynced!: () => void;
  let markClosed!: () => void;
  const synced = new Promise<void>((resolve) => (markSynced = resolve));
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.on('close', markClosed);
    let pending = '';
    socket.on('data', (data: Buffer) => {
      pending += data.toString('latin1');
      // Whole RESP arrays of bulk strings: *N\r\n($len\r\narg\r\n)×N.
      for (;;) {
        const match = /^\*(\d+)\r\n/.exec(pending);
        if (!match) return;
        let at = match[0].length;
        const args: string[] = [];
        for (let i = 0; i < Number(match[1]); i++) {
          const bulk = /^\$(\d+)\r\n/.exec(pending.slice(at));
          if (!bulk || pending.length < at + bulk[0].length + Number(bulk[1]) + 2) return;
          args.push(pending.slice(at + bulk[0].length, at + bulk[0].length + Number(bulk[1])));
          at += bulk[0].length + Number(bulk[1]) + 2;
        }
        pending = pending.slice(at);
        const name = args[0]?.toUpperCase();
        if (name === 'SYNC') {
          markSynced();
          onSync(socket);
        } else socket.write(name === 'PING' ? '+PONG\r\n' : '+OK\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `redis://127.0.0.1:${port}`, synced, closed, server };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('snapshotRdb of the shared Redis, restored in a scratch server', () => {
  const db5 = new Redis('redis://127.0.0.1:6379/5', { lazyConnect: true });
  const db6 = new Redis('redis://127.0.0.1:6379/6', { lazyConnect: true });
  const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const big = randomBytes(300_000).toString('base64');

  beforeAll(async () => {
    await db5.set(`${prefix}plain`, 'hello');
    await db5.set(`${prefix}binary`, binary);
    await db5.set(`${prefix}big`, big);
    await db5.set(`${prefix}expiring`, 'soon', 'EX', 3600);
    await db5.hset(`${prefix}hash`, { a: '1', b: '2' });
    await db6.rpush(`${prefix}list`, 'x', 'y', 'z');
    await db6.sadd(`${prefix}set`, 'm', 'n');
    await db6.zadd(`${prefix}zset`, 1, 'one', 2, 'two');
    await db6.pexpire(`${prefix}zset`, 7_200_000);
  });

  afterAll(async () => {
    await db5.del(`${prefix}plain`, `${prefix}binary`, `${prefix}big`, `${prefix}expiring`, `${prefix}hash`);
    await db6.del(`${prefix}list`, `${prefix}set`, `${prefix}zset`);
    db5.disconnect();
    db6.disconnect();
  });

  it('writes a valid RDB file whose keys, values and TTLs load back', async () => {
    const path = join(dir, 'shared.rdb');
    const reported: number[] = [];
    const snapshot = await snapshotRdb({ url: 'redis://127.0.0.1:6379/0' }, path, {
      onBytes: (n) => reported.push(n),
    });
    expect(snapshot.path).toBe(path);
    expect(snapshot.rdbVersion).toBeGreaterThanOrEqual(9);
    expect(snapshot.bytes).toBe(readFileSync(path).length);
    expect(snapshot.sha256).toBe(sha256Of(path));
    expect(existsSync(`${path}.part`)).toBe(false);
    await expect(validateRdb(path)).resolves.toEqual({
      rdbVersion: snapshot.rdbVersion,
      bytes: snapshot.bytes,
      checksumVerified: true,
    });

    const live = await keyCountsOf(db5);
    expect(live.db5).toBeGreaterThanOrEqual(5);
    expect(live.db6).toBeGreaterThanOrEqual(3);

    await withScratchRedis(path, async (client, keyCounts) => {
      expect(keyCounts.db5).toBeGreaterThanOrEqual(5);
      expect(keyCounts.db6).toBeGreaterThanOrEqual(3);
      await client.select(5);
      expect(await client.get(`${prefix}plain`)).toBe('hello');
      expect(await client.getBuffer(`${prefix}binary`)).toEqual(binary);
      expect(await client.get(`${prefix}big`)).toBe(big);
      expect(await client.hgetall(`${prefix}hash`)).toEqual({ a: '1', b: '2' });
      const ttl = await client.pttl(`${prefix}expiring`);
      expect(ttl).toBeGreaterThan(3_500_000);
      expect(ttl).toBeLessThanOrEqual(3_600_000);
      expect(await client.pttl(`${prefix}plain`)).toBe(-1);
      await client.select(6);
      expect(await client.lrange(`${prefix}list`, 0, -1)).toEqual(['x', 'y', 'z']);
      expect((await client.smembers(`${prefix}set`)).sort()).toEqual(['m', 'n']);
      expect(await client.zrange(`${prefix}zset`, 0, -1, 'WITHSCORES')).toEqual(['one', '1', 'two', '2']);
      expect(await client.pttl(`${prefix}zset`)).toBeGreaterThan(7_000_000);
    });
  });
});

describe('snapshotRdb of servers of the test’s own', () => {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  let diskBased: TestRedis;
  let diskless: TestRedis;

  beforeAll(async () => {
    [diskBased, diskless] = await Promise.all([
      TestRedis.start(dir, 'disk', ['--save', '', '--appendonly', 'no', '--repl-diskless-sync', 'no'], password),
      TestRedis.start(dir, 'diskless', [
        '--save',
        '',
        '--appendonly',
        'no',
        '--repl-diskless-sync',
        'yes',
        '--repl-diskless-sync-delay',
        '0',
      ]),
    ]);
    await diskBased.admin.call('ACL', 'SETUSER', 'nosync', 'on', '>other-pw', '~*', '&*', '+@all', '-sync', '-psync');
    for (const own of [diskBased, diskless]) {
      await own.admin.mset({ [`${prefix}a`]: 'A', [`${prefix}b`]: 'B' });
      await own.admin.select(2);
      await own.admin.set(`${prefix}c`, 'C', 'PX', 600_000);
      await own.admin.select(0);
    }
  });

  afterAll(async () => {
    await Promise.all([diskBased?.stop(), diskless?.stop()]);
  });

  it.each([
    ['disk-based', 'target: disk'],
    ['diskless', 'target: replicas sockets'],
  ])('snapshots a %s primary into a file that validates and loads', async (kind, logged) => {
    const server = kind === 'diskless' ? diskless : diskBased;
    const path = join(dir, `${kind}-out.rdb`);
    const snapshot = await snapshotRdb({ url: server.url, ...(server === diskBased ? { password } : {}) }, path);
    // The server's own log says which transfer it chose ($<length> after a save to disk, or $EOF:<mark>).
    expect(server.log()).toContain(logged);
    expect(snapshot.sha256).toBe(sha256Of(path));
    await expect(validateRdb(path)).resolves.toMatchObject({ checksumVerified: true, bytes: snapshot.bytes });
    await withScratchRedis(path, async (client, keyCounts) => {
      expect(keyCounts).toEqual({ db0: 2, db2: 1 });
      expect(await client.mget(`${prefix}a`, `${prefix}b`)).toEqual(['A', 'B']);
      await client.select(2);
      expect(await client.get(`${prefix}c`)).toBe('C');
      expect(await client.pttl(`${prefix}c`)).toBeGreaterThan(0);
    });
  });

  it('takes the user from the URL and the password from the caller', async () => {
    const path = join(dir, 'as-user.rdb');
    await diskBased.admin.call('ACL', 'SETUSER', 'backup', 'on', '>backup-pw', '~*', '&*', '+@all');
    await expect(
      snapshotRdb({ url: `redis://backup@127.0.0.1:${diskBased.port}`, password: 'backup-pw' }, path),
    ).resolves.toMatchObject({ path });
  });

  it('fails AuthFailed on a wrong password, without showing it', async () => {
    const err = await failureOf(snapshotRdb({ url: diskBased.url, password: 'wrong-secret' }, join(dir, 'never.rdb')));
    expect(err.code).toBe(ErrorCode.AuthFailed);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`127.0.0.1:${diskBased.port}`);
    expect(err.message).not.toContain('wrong-secret');
    expect(err.message).not.toContain(password);
    expect(existsSync(join(dir, 'never.rdb'))).toBe(false);
  });

  it('fails AuthFailed when the server needs a password and none is given', async () => {
    const err = await failureOf(snapshotRdb({ url: diskBased.url }, join(dir, 'never.rdb')));
    expect(err.code).toBe(ErrorCode.AuthFailed);
    expect(err.message).toMatch(/requires a password/);
  });

  it('fails BadInput, naming the missing ACL rights, when the user may not SYNC', async () => {
    const err = await failureOf(
      snapshotRdb({ url: `redis://nosync@127.0.0.1:${diskBased.port}`, password: 'other-pw' }, join(dir, 'never.rdb')),
    );
    expect(err.code).toBe(ErrorCode.BadInput);
    expect(err.message).toMatch(/refused SYNC.*NOPERM/);
    expect(err.message).toContain('+sync +psync');
    expect(err.message).not.toContain('other-pw');
  });

  it('fails Unreachable, retryable, when nothing listens on the port', async () => {
    const port = await freePort();
    const err = await failureOf(snapshotRdb({ url: `redis://127.0.0.1:${port}` }, join(dir, 'never.rdb')));
    expect(err.code).toBe(ErrorCode.Unreachable);
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(`127.0.0.1:${port}`);
  });
});

describe('snapshotRdb against a fake primary', () => {
  const payload = buildRdb([
    ['small', Buffer.from('v')],
    ['big', randomBytes(700_000)],
  ]);
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));
  const fake = async (onSync: (socket: Socket) => void) => {
    const primary = await fakePrimary(onSync);
    servers.push(primary.server);
    return primary;
  };

  /** Writes `data` in pieces of varying size, each in its own packet as far as TCP allows. */
  const dribble = async (socket: Socket, data: Buffer): Promise<void> => {
    for (let at = 0, size = 1; at < data.length; at += size, size = (size * 7) % 65_521) {
      if (!socket.write(data.subarray(at, at + size))) await new Promise((resolve) => socket.once('drain', resolve));
    }
  };

  it('writes exactly the payload of a $EOF:<mark> transfer, mark and trailing bytes left out', async () => {
    const mark = Buffer.from(randomBytes(20).toString('hex'));
    const { url } = await fake((socket) => {
      socket.write(`\n\n\n$EOF:${mark.toString()}\r\n`);
      void dribble(socket, Buffer.concat([payload, mark, Buffer.from('*1\r\n$4\r\nPING\r\n')]));
    });
    const path = join(dir, 'fake-eof.rdb');
    const snapshot = await snapshotRdb({ url }, path);
    expect(readFileSync(path).equals(payload)).toBe(true);
    expect(snapshot).toMatchObject({ bytes: payload.length, rdbVersion: 9 });
    await expect(validateRdb(path)).resolves.toMatchObject({ checksumVerified: true });
  });

  it('writes exactly <length> bytes of a $<length> transfer', async () => {
    const { url } = await fake((socket) => {
      socket.write('\n\n');
      void dribble(socket, Buffer.concat([Buffer.from(`$${payload.length}\r\n`), payload, Buffer.from('\r\n+extra')]));
    });
    const path = join(dir, 'fake-length.rdb');
    await snapshotRdb({ url }, path);
    expect(readFileSync(path).equals(payload)).toBe(true);
    // The hand-built file is a real RDB: the scratch server loads it.
    await withScratchRedis(path, async (client, keyCounts) => {
      expect(keyCounts).toEqual({ db0: 2 });
      expect(await client.get('small')).toBe('v');
    });
  });

  it('fails Unreachable when the primary hangs up mid-payload, leaving no file', async () => {
    const { url } = await fake((socket) => {
      socket.end(Buffer.concat([Buffer.from(`$${payload.length}\r\n`), payload.subarray(0, 1000)]));
    });
    const path = join(dir, 'fake-cut.rdb');
    const err = await failureOf(snapshotRdb({ url }, path));
    expect(err.code).toBe(ErrorCode.Unreachable);
    expect(err.message).toMatch(/closed the connection after 1000 bytes/);
    expect(existsSync(path) || existsSync(`${path}.part`)).toBe(false);
  });

  it('fails Unreachable when the transfer stalls longer than the timeout', async () => {
    const { url } = await fake((socket) => {
      socket.write(Buffer.concat([Buffer.from(`\n$${payload.length}\r\n`), payload.subarray(0, 100)]));
    });
    const path = join(dir, 'fake-stall.rdb');
    const err = await failureOf(snapshotRdb({ url }, path, { timeoutMs: 300 }));
    expect(err.code).toBe(ErrorCode.Unreachable);
    expect(err.message).toMatch(/no data from the server/);
    expect(existsSync(path) || existsSync(`${path}.part`)).toBe(false);
  });

  it('closes the connection and removes the partial file when aborted', async () => {
    const { url, synced, closed } = await fake((socket) => {
      socket.write(Buffer.concat([Buffer.from(`$${payload.length}\r\n`), payload.subarray(0, 100)]));
    });
    const path = join(dir, 'fake-abort.rdb');
    const controller = new AbortController();
    const running = snapshotRdb({ url }, path, { signal: controller.signal });
    await synced;
    controller.abort(new Error('cancelled by the test'));
    await expect(running).rejects.toThrow('cancelled by the test');
    await closed;
    expect(existsSync(path) || existsSync(`${path}.part`)).toBe(false);
  });
});

describe('damaged snapshots', () => {
  const good = join(dir, 'good.rdb');
  beforeAll(() => {
    writeFileSync(
      good,
      buildRdb([
        ['k', Buffer.from('v')],
        ['pad', randomBytes(50_000)],
      ]),
    );
  });

  it('a truncated file fails validateRdb with BackupCorrupt', async () => {
    const path = join(dir, 'truncated.rdb');
    writeFileSync(path, readFileSync(good).subarray(0, -100));
    const err = await failureOf(validateRdb(path));
    expect(err.code).toBe(ErrorCode.BackupCorrupt);
    expect(err.message).toContain(path);
  });

  it('a flipped byte fails validateRdb and the scratch load, quoting Redis', async () => {
    const path = join(dir, 'flipped.rdb');
    const bytes = readFileSync(good);
    bytes[30_000] = bytes[30_000]! ^ 0x20;
    writeFileSync(path, bytes);
    const err = await failureOf(validateRdb(path));
    expect(err.code).toBe(ErrorCode.BackupCorrupt);
    expect(err.message).toMatch(/CRC-64/);
    const loadErr = await failureOf(withScratchRedis(path, () => Promise.resolve()));
    expect(loadErr.code).toBe(ErrorCode.BackupCorrupt);
    expect(loadErr.message).toMatch(/Wrong RDB checksum/);
  });
});

describe('withScratchRedis', () => {
  const rdb = join(dir, 'scratch.rdb');
  beforeAll(() => writeFileSync(rdb, buildRdb([['k', Buffer.from('v')]])));

  it('stops the server and removes its directory when the body fails', async () => {
    let socketDir = '';
    let pid = 0;
    const err = await withScratchRedis(rdb, async (client) => {
      socketDir = dirname(client.options.path ?? '');
      pid = Number(/^process_id:(\d+)/m.exec(await client.info('server'))?.[1]);
      throw new Error('body failed');
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('body failed');
    expect(pid).toBeGreaterThan(0);
    expect(existsSync(socketDir)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    expect(existsSync(rdb)).toBe(true);
  });

  it('fails ToolMissing with the install command when redis-server is not installed', async () => {
    const err = await failureOf(withScratchRedis(rdb, () => Promise.resolve(), { binary: 'dbops-no-redis-server' }));
    expect(err.code).toBe(ErrorCode.ToolMissing);
    expect(err.message).toContain('apt-get install redis-server');
  });
});
