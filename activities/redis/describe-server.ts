/** Reads version, selected db and memory use from a Redis server. */
import type { Redis } from 'ioredis';
import type { ServerFacts } from '../../common/server-facts';

/**
 * INFO and DBSIZE of the selected database; the first command opens the lazy connection. `sizeBytes` is
 * `used_memory` (Redis keeps no database file of its own size).
 */
export async function describeRedis(client: Redis): Promise<ServerFacts> {
  const info = await client.info();
  const field = (name: string): string | undefined => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const keys = await client.dbsize();
  return {
    version: field('redis_version') ?? 'unknown',
    database: `db${client.options.db ?? 0} (${keys} keys)`,
    sizeBytes: Number(field('used_memory') ?? 0),
  };
}
