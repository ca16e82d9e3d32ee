/**
 * Step 2 of a check: connect to one target and report what the server says. A server that is down is a
 * finding, not a failure; a SQLite path that is not a database is bad input and fails the run.
 */
import type { ConnectionCheck } from '../../common/contracts/check';
import { DbopsError } from '../../common/errors';
import type { ServerFacts } from '../../common/server-facts';
import { classifyDriverError } from '../connections/classify-error';
import type { ConnectionRegistry } from '../connections/registry';
import type { ResolvedTarget } from '../connections/resolve';
import { describeMysql } from '../mysql/describe-server';
import { describePostgres } from '../postgres/describe-server';
import { describeRedis } from '../redis/describe-server';
import { describeSqlite } from '../sqlite/describe-server';

/** Asks the target's engine to describe its server. */
function describe(target: ResolvedTarget, connections: ConnectionRegistry): Promise<ServerFacts> {
  switch (target.engine) {
    case 'postgres':
      return describePostgres(connections.postgres(target));
    case 'mysql':
      return describeMysql(connections.mysql(target));
    case 'redis':
      return describeRedis(connections.redis(target));
    case 'sqlite':
      return Promise.resolve(describeSqlite(target.path ?? ''));
  }
}

/** Version, database and size of one target, or why it could not be reached. */
export async function checkConnection(
  target: ResolvedTarget,
  connections: ConnectionRegistry,
): Promise<ConnectionCheck> {
  const started = performance.now();
  try {
    const facts = await describe(target, connections);
    return { target: target.label, engine: target.engine, ok: true, latencyMs: elapsed(started), ...facts };
  } catch (err) {
    // A bad SQLite path is bad input: the whole run is wrong, not just this server.
    if (err instanceof DbopsError && !err.retryable && target.engine === 'sqlite') throw err;
    const known = classifyDriverError(err, target.label);
    const error = known
      ? { code: known.code, message: known.message }
      : {
          code: String((err as { code?: unknown }).code ?? 'ERROR'),
          message: `${target.label}: ${(err as Error).message}`,
        };
    return { target: target.label, engine: target.engine, ok: false, latencyMs: elapsed(started), error };
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
