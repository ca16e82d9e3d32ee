/** Reads version, selected db and memory use from a Redis server. */
import type { Redis } from 'ioredis';
import type { ServerFacts } from '../check/server-facts';

/** INFO server + memory, DBSIZE of the selected database. `sizeBytes` is `used_memory` (Redis has no disk size). */
export async function describeRedis(client: Redis): Promise<ServerFacts> {
  if (client.status === 'wait') await client.connect();
  const info = await client.info();
  const field = (name: string): string | undefined => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const keys = await client.dbsize();
  return {
    version: field('redis_version') ?? 'unknown',
    database: `db${client.options.db ?? 0} (${keys} keys)`,
    sizeBytes: Number(field('used_memory') ?? 0),
  };
}
