/**
 * Connection pools owned by one worker process (whoever creates a pool closes it): created on first use, keyed by target,
 * closed once, in reverse order of creation, by whoever created the registry.
 */
import { Redis } from 'ioredis';
import { createPool as createMysqlPool, type Pool as MysqlPool } from 'mysql2/promise';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { DbopsError, ErrorCode } from '../../common/errors';
import type { ResolvedTarget } from './resolve';

/** Minimal logger the registry reports background errors to. */
export interface RegistryLogger {
  warn(message: string, meta?: Record<string, unknown>): void;
}

interface PoolEntry<T> {
  handle: T;
  close: () => Promise<void>;
  /** False once the handle can no longer be used (a Redis client that gave up reconnecting). */
  usable?: () => boolean;
}

/** Lazily created, shared pools for PostgreSQL, MySQL/MariaDB and Redis. */
export class ConnectionRegistry {
  private readonly pools = new Map<string, PoolEntry<unknown>>();
  private closed = false;

  /**
   * `poolSize`: connections per server. Every activity the worker runs at once may hold one (an import
   * chunk holds its client for the whole COPY), so the worker sizes it from its activity slots.
   */
  constructor(
    private readonly log: RegistryLogger,
    private readonly poolSize = 8,
  ) {}

  /** The pg pool for a PostgreSQL target. */
  postgres(target: ResolvedTarget): pg.Pool {
    return this.getOrCreate(target, 'postgres', () => {
      // The URL is parsed here rather than given to pg as `connectionString`: pg would merge the URL's empty
      // password over ours, and an empty password makes it fall back to PGPASSWORD and ~/.pgpass for
      // whatever host the URL names. The password is always set: the bound one, or a refusal.
      const { password: _none, ...params } = parseIntoClientConfig(target.url ?? '');
      const pool = new pg.Pool({
        ...params,
        password: target.password ?? (() => Promise.reject(noPasswordBound(target))),
        max: this.poolSize,
        connectionTimeoutMillis: 10_000,
        idleTimeoutMillis: 30_000,
        application_name: 'dbops',
      });
      // An idle client whose server goes away emits 'error' on the pool; without a listener that would
      // crash the whole worker. The next checkout gets a fresh connection, so logging is enough.
      pool.on('error', (err) =>
        this.log.warn('idle PostgreSQL connection failed', { target: target.label, error: err.message }),
      );
      // A checked-out client whose socket dies (server restarted, backend terminated, EPIPE mid-COPY) fails its
      // running query — the activity sees that error and retries — and also emits 'error' on the client, which
      // must not be left unheard.
      pool.on('connect', (client) =>
        client.on('error', (err) =>
          this.log.warn('PostgreSQL connection failed', { target: target.label, error: err.message }),
        ),
      );
      return { handle: pool, close: () => pool.end() };
    });
  }

  /** The mysql2 pool for a MySQL/MariaDB target. Big numbers come back as strings, dates as text. */
  mysql(target: ResolvedTarget): MysqlPool {
    return this.getOrCreate(target, 'mysql', () => {
      const pool = createMysqlPool({
        uri: target.url,
        ...(target.password !== undefined ? { password: target.password } : {}),
        connectionLimit: this.poolSize,
        connectTimeout: 10_000,
        supportBigNumbers: true,
        bigNumberStrings: true,
        dateStrings: true,
      });
      // Same reason as for pg: a dropped idle connection must not take the worker down.
      pool.pool.on('error', (err: Error) =>
        this.log.warn('MySQL pool error', { target: target.label, error: err.message }),
      );
      return { handle: pool, close: () => pool.end() };
    });
  }

  /** The ioredis client for a Redis target. Commands fail fast instead of queueing while disconnected. */
  redis(target: ResolvedTarget): Redis {
    return this.getOrCreate(target, 'redis', () => {
      const client = new Redis(target.url ?? '', {
        ...(target.password !== undefined ? { password: target.password } : {}),
        lazyConnect: true,
        connectTimeout: 5_000,
        maxRetriesPerRequest: 2,
        retryStrategy: (times) => (times > 5 ? null : Math.min(times * 200, 2_000)),
        connectionName: 'dbops',
      });
      // ioredis emits 'error' on every failed reconnect; unhandled, Node would print or throw it.
      client.on('error', (err: Error) =>
        this.log.warn('Redis connection error', { target: target.label, error: err.message }),
      );
      return {
        handle: client,
        // After retryStrategy gives up the client stays 'end' for good; the next caller gets a new one.
        usable: () => client.status !== 'end',
        close: () =>
          client.quit().then(
            () => undefined,
            () => client.disconnect(),
          ),
      };
    });
  }

  /** Closes every pool, newest first. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const entries = [...this.pools.values()].reverse();
    this.pools.clear();
    for (const entry of entries) {
      try {
        await entry.close();
      } catch (err) {
        this.log.warn('closing a pool failed', { error: (err as Error).message });
      }
    }
  }

  private getOrCreate<T>(target: ResolvedTarget, engine: string, create: () => PoolEntry<T>): T {
    if (this.closed) throw new Error('ConnectionRegistry is closed');
    if (target.url === undefined) throw new Error(`${target.label} is not a ${engine} server target`);
    const key = `${engine}|${target.url}|${target.password ?? ''}`;
    let entry = this.pools.get(key);
    if (entry?.usable?.() === false) {
      void entry.close().catch(() => undefined);
      entry = undefined;
    }
    if (!entry) {
      entry = create() as PoolEntry<unknown>;
      this.pools.set(key, entry);
    }
    return entry.handle as T;
  }
}

/** The server asked for a password and none is bound to its host: say where one belongs. */
function noPasswordBound(target: ResolvedTarget): DbopsError {
  return new DbopsError(
    ErrorCode.AuthFailed,
    `${target.label} asks for a password and none is configured for that host: add it as ${target.passwordFrom ?? 'a named connection'} on the worker (passwords are only sent to the host they are configured for)`,
  );
}
