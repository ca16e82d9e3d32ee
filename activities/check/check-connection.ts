/**
 * Activities of the `connectionCheck` workflow: resolve the targets, then connect to each and report what
 * the server says. A server that is down is a finding, not a failure; a bad reference is a failure.
 */
import type { Engine } from '../../common/connection-ref';
import { DbopsError } from '../../common/errors';
import type { ActivityDeps } from '../deps';
import { classifyDriverError } from '../connections/classify-error';
import { resolveTarget, type ResolvedTarget } from '../connections/resolve';
import { withFailureMapping } from '../failures';
import { describeMysql } from '../mysql/describe-server';
import { describePostgres } from '../postgres/describe-server';
import { describeRedis } from '../redis/describe-server';
import { describeSqlite } from '../sqlite/describe-file';
import type { ServerFacts } from './server-facts';

/** A target as the workflow sees it: no URL with a password, ever. */
export interface TargetSummary {
  /** The reference to pass back to later activities (a name, or the input's own password-free string). */
  ref: string;
  label: string;
  engine: Engine;
}

/** Result of checking one target. */
export interface ConnectionCheck extends Partial<ServerFacts> {
  target: string;
  engine: Engine;
  ok: boolean;
  latencyMs: number;
  error?: { code: string; message: string };
}

/** Builds the check activities around the worker's shared dependencies. */
export function createCheckActivities({ config, connections }: ActivityDeps) {
  const describe = (target: ResolvedTarget): Promise<ServerFacts> => {
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
  };

  return {
    /** Validates every reference (all configured connections when none is given); fails on the first bad one. */
    async resolveTargets(refs: string[]): Promise<TargetSummary[]> {
      return withFailureMapping('resolveTargets', async () => {
        const wanted = refs.length > 0 ? refs : Object.keys(config.connections).sort();
        return wanted.map((ref) => {
          const target = resolveTarget(ref, config);
          return { ref, label: target.label, engine: target.engine };
        });
      });
    },

    /** Connects to one target and reports version, database and size, or why it could not. */
    async checkConnection(ref: string): Promise<ConnectionCheck> {
      return withFailureMapping(`checkConnection ${ref}`, async () => {
        const target = resolveTarget(ref, config);
        const started = performance.now();
        try {
          const facts = await describe(target);
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
      });
    },
  };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
