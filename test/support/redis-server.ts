/**
 * Throwaway `redis-server` processes for tests that must not touch the machine's shared Redis: started on a
 * free loopback port (or a unix socket), logging to a pipe the test keeps, and ready when the server itself
 * says so ("Ready to accept connections") — no polling, no sleeping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { freePort } from './servers';

export { freePort };

/** A started server. */
export interface RedisServerProcess {
  /** The TCP port (0 when it listens on a unix socket only). */
  port: number;
  child: ChildProcess;
  /** Everything the server logged so far. */
  log(): string;
  /** SIGTERM (or SIGKILL), then waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `redis-server` in `dir` with `args`; on `socket` alone when given (port 0), else on a free port. */
export async function startRedisServer(options: {
  dir: string;
  args?: string[];
  socket?: string;
}): Promise<RedisServerProcess> {
  const port = options.socket ? 0 : await freePort();
  const listen = options.socket
    ? ['--port', '0', '--unixsocket', options.socket]
    : ['--port', String(port), '--bind', '127.0.0.1'];
  const child = spawn('redis-server', [...listen, '--dir', options.dir, ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (/ready to accept connections/i.test(log)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${log}`)));
    child.once('error', reject);
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    await ready;
  } finally {
    clearTimeout(guard);
  }
  return {
    port,
    child,
    log: () => log,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },
  };
}

/** A throwaway server on 127.0.0.1 with a connected admin client (password-aware), for tests that seed it. */
export class TestRedis {
  private constructor(
    private readonly server: RedisServerProcess,
    readonly admin: Redis,
  ) {}

  /** Starts `redis-server` in `dir` with its own RDB file name `<name>.rdb`, `args`, and `password` if given. */
  static async start(dir: string, name: string, args: string[], password?: string): Promise<TestRedis> {
    const server = await startRedisServer({
      dir,
      args: ['--dbfilename', `${name}.rdb`, ...args, ...(password ? ['--requirepass', password] : [])],
    });
    const admin = new Redis({ port: server.port, host: '127.0.0.1', ...(password ? { password } : {}) });
    admin.on('error', () => undefined); // a stopped server is reported through the command that fails
    return new TestRedis(server, admin);
  }

  get port(): number {
    return this.server.port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** What the server logged so far. */
  log(): string {
    return this.server.log();
  }

  async stop(): Promise<void> {
    this.admin.disconnect();
    await this.server.stop();
  }
}
