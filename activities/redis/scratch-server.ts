/**
 * Proves an RDB snapshot restores by loading it into a throwaway `redis-server`: the only check that reads
 * every key the way Redis itself would. The server listens on a unix socket in a private temp directory (no
 * TCP port, nothing else can reach it), never saves, and is shut down and its directory removed whatever
 * happens. A file Redis refuses to load fails with the reason from Redis's own log.
 */
import { copyFile, link, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { DbopsError, ErrorCode } from '../../common/errors';
import { startTool, type RunningTool } from '../files/tool-process';

/** Options of {@link withScratchRedis}. */
export interface ScratchRedisOptions {
  /** Stops the server (and the wait for it) when aborted. */
  signal?: AbortSignal;
  /** The redis-server binary; default `redis-server` from PATH. */
  binary?: string;
  /** Give up when loading takes longer than this. Default 30 minutes. */
  loadTimeoutMs?: number;
}

const INSTALL_HINT = 'redis-server (Debian: apt-get install redis-server)';
const DEFAULT_LOAD_TIMEOUT_MS = 30 * 60_000;
const STOP_GRACE_MS = 10_000;
/**
 * Databases the scratch server offers: Redis refuses a file with a db index above its own limit, and the
 * limit of the server that wrote the file is not known here. Empty databases cost a few hundred bytes each.
 */
const DATABASES = 1024;

/**
 * Loads `rdbPath` into a throwaway redis-server, runs `body` with a client and the keys per database, then
 * stops the server and removes its directory (also when loading or `body` fails).
 */
export async function withScratchRedis<T>(
  rdbPath: string,
  body: (client: Redis, keyCounts: Record<string, number>) => Promise<T>,
  options: ScratchRedisOptions = {},
): Promise<T> {
  options.signal?.throwIfAborted();
  const size = await stat(rdbPath).then(
    (s) => s.size,
    (err: NodeJS.ErrnoException) => {
      throw new DbopsError(ErrorCode.BadInput, `cannot read the RDB snapshot ${rdbPath} (${err.code ?? err.message})`, {
        cause: err,
      });
    },
  );
  const dir = await mkdtemp(join(tmpdir(), 'dbops-redis-'));
  let server: RunningTool | undefined;
  let client: Redis | undefined;
  try {
    const dumpFile = join(dir, 'dump.rdb');
    // A hard link costs nothing and the original stays intact: no save points are configured, the server is
    // stopped with SIGTERM (which then saves nothing), and a save would write a new file and rename it.
    await link(rdbPath, dumpFile).catch(() => copyFile(rdbPath, dumpFile));
    const socketPath = join(dir, 'redis.sock');
    const logPath = join(dir, 'redis.log');
    server = startTool(
      options.binary ?? 'redis-server',
      [
        '--port',
        '0',
        '--unixsocket',
        socketPath,
        '--unixsocketperm',
        '700',
        '--dir',
        dir,
        '--dbfilename',
        'dump.rdb',
        '--appendonly',
        'no',
        '--save',
        '',
        '--daemonize',
        'no',
        '--logfile',
        logPath,
        '--databases',
        String(DATABASES),
      ],
      {
        label: `redis-server loading ${rdbPath}`,
        installHint: INSTALL_HINT,
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
    let exit: unknown;
    const exited = server.done.then(
      () => (exit = new Error('redis-server exited')),
      (err: unknown) => (exit = err ?? new Error('redis-server exited')),
    );

    client = new Redis({
      path: socketPath,
      lazyConnect: true,
      enableReadyCheck: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectionName: 'dbops-scratch',
    });
    client.on('error', () => undefined); // failures surface through the command that hit them
    await waitUntilLoaded(client, {
      exited: () => exit,
      exitedPromise: exited,
      signal: options.signal,
      timeoutMs: options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS,
      describeExit: async (err) => refusal(err, rdbPath, size, await readFile(logPath, 'utf8').catch(() => '')),
    });
    const keyCounts = await keyCountsOf(client);
    return await body(client, keyCounts);
  } finally {
    if (client) client.disconnect();
    if (server) await stopServer(server);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Keys per database from `INFO keyspace`, e.g. `{ db0: 1234, db3: 5 }`; empty databases are absent. */
export async function keyCountsOf(client: Redis): Promise<Record<string, number>> {
  return parseKeyspace(await client.info('keyspace'));
}

/** Parses the `dbN:keys=…,expires=…` lines of `INFO keyspace`. */
export function parseKeyspace(info: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const match of info.matchAll(/^(db\d+):keys=(\d+)/gm)) counts[match[1]!] = Number(match[2]);
  return counts;
}

interface LoadWait {
  exited: () => unknown;
  exitedPromise: Promise<unknown>;
  signal: AbortSignal | undefined;
  timeoutMs: number;
  describeExit: (err: unknown) => Promise<Error>;
}

/**
 * Polls until the server answers and reports `loading:0`. Ends early when the server exits (it refused the
 * file), the signal aborts or the time is up.
 */
async function waitUntilLoaded(client: Redis, wait: LoadWait): Promise<void> {
  const deadline = Date.now() + wait.timeoutMs;
  let delay = 10;
  for (;;) {
    wait.signal?.throwIfAborted(); // first: an abort also stops the server, which is not a refusal
    if (wait.exited() !== undefined) throw await wait.describeExit(wait.exited());
    try {
      if (client.status === 'wait' || client.status === 'end') await client.connect();
      const persistence = await client.info('persistence');
      if (/^loading:0\s*$/m.test(persistence)) return;
    } catch {
      // Not listening yet, or gone (then `exited` says why on the next round).
      if (client.status === 'end' || client.status === 'close') client.disconnect();
    }
    if (Date.now() > deadline) {
      throw new DbopsError(
        ErrorCode.BackupFailed,
        `the scratch redis-server did not finish loading within ${Math.round(wait.timeoutMs / 60_000)} min; raise the load timeout for large snapshots`,
      );
    }
    // Wake on the next poll or at once when the server exits.
    await Promise.race([new Promise((resolve) => setTimeout(resolve, delay)), wait.exitedPromise]);
    delay = Math.min(delay * 2, 200);
  }
}

/** Turns the server's exit while loading into the error to report, quoting the reason from its log. */
function refusal(err: unknown, rdbPath: string, size: number, log: string): Error {
  if (err instanceof DbopsError) return err; // redis-server not installed
  // Log lines look like `123:M 30 Nov 2026 05:04:53.049 # Wrong RDB checksum …`; `#` marks a warning.
  const warnings = [...log.matchAll(/^\d+:[A-Z] [^#*\n]*? # (.*)$/gm)]
    .map((match) => match[1]!.trim())
    .filter((line) => !/^WARNING/i.test(line));
  const reason = (warnings.join(' / ') || log.trim().split('\n').at(-1) || (err as Error).message).slice(0, 600);
  if (/Can't handle RDB format version/i.test(reason)) {
    return new DbopsError(
      ErrorCode.ToolMissing,
      `the local redis-server is too old to load ${rdbPath}: "${reason}"; install a redis-server at least as new as the server the snapshot came from`,
      { cause: err },
    );
  }
  if (/RDB|loading DB|Bad file format|checksum|module/i.test(reason)) {
    return new DbopsError(
      ErrorCode.BackupCorrupt,
      `redis-server refused to load ${rdbPath} (${size} bytes): "${reason}"; the snapshot is unusable, take a new one`,
      { cause: err },
    );
  }
  return new DbopsError(
    ErrorCode.BackupFailed,
    `the scratch redis-server stopped before loading ${rdbPath}: "${reason}" (${(err as Error).message})`,
    { cause: err },
  );
}

/** SIGTERM (no save points are configured, so it does not write), then SIGKILL if it lingers. */
async function stopServer(server: RunningTool): Promise<void> {
  const done = server.done.catch(() => undefined);
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), STOP_GRACE_MS);
  try {
    await done;
  } finally {
    clearTimeout(timer);
  }
}
