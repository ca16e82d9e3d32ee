/**
 * Turns a reference from a workflow input (a connection name, a URL without password, a SQLite path) into
 * what a driver needs, adding the password from the worker's own environment. The result's `url` holds
 * the password: it stays inside the activity and is never returned to a workflow.
 */
import { isAbsolute, resolve } from 'node:path';
import { connectionEnvVar, type Engine, engineOfUrl, parseConnectionRef } from '../../common/connection-ref';
import { DbopsError, ErrorCode } from '../../common/errors';
import { describeSecretFindings, findSecrets, redactUrl } from '../../common/secret-guard';
import { connectionPassword, type DbopsConfig } from '../../config/load';

/** A reference resolved on the worker. */
export interface ResolvedTarget {
  /** Safe to show and to return to workflows: the connection name, or the URL/path without secrets. */
  label: string;
  engine: Engine;
  /** Driver URL including the password (postgres, mysql, redis). Never leaves the worker. */
  url?: string;
  /** Absolute file path (sqlite). */
  path?: string;
}

/** Environment variables that carry the password of an ad-hoc URL, per engine (the tools' own conventions). */
const URL_PASSWORD_ENV: Readonly<Record<Engine, string | undefined>> = {
  postgres: 'PGPASSWORD',
  mysql: 'MYSQL_PWD',
  redis: 'REDISCLI_AUTH',
  sqlite: undefined,
};

/** Resolves one reference; throws a non-retryable DbopsError naming the reference and the fix. */
export function resolveTarget(ref: string, config: DbopsConfig, env: NodeJS.ProcessEnv = process.env): ResolvedTarget {
  const secrets = findSecrets(ref, 'connection');
  if (secrets.length > 0) throw new DbopsError(ErrorCode.SecretInInput, describeSecretFindings(secrets));
  const parsed = parseConnectionRef(ref);
  if ('error' in parsed) throw new DbopsError(ErrorCode.BadInput, parsed.error);

  switch (parsed.kind) {
    case 'file':
      return {
        label: parsed.path,
        engine: 'sqlite',
        path: isAbsolute(parsed.path) ? parsed.path : resolve(parsed.path),
      };
    case 'url':
      return {
        label: redactUrl(parsed.url),
        engine: parsed.engine,
        url: withPassword(parsed.url, passwordFromEnv(parsed.engine, env)),
      };
    case 'name': {
      const url = config.connections[parsed.name];
      if (url === undefined) {
        const known = Object.keys(config.connections).sort().join(', ') || 'none';
        throw new DbopsError(
          ErrorCode.UnknownConnection,
          `unknown connection "${parsed.name}" (configured: ${known}). Add it under "connections" in dbops.config.json ` +
            `or as ${connectionEnvVar(parsed.name)}=<url> in the worker's environment, ` +
            `or pass a URL without a password.`,
        );
      }
      const engine = engineOfUrl(url) as Engine; // validated by the config schema
      if (engine === 'sqlite') return { label: parsed.name, engine, path: url.replace(/^sqlite:\/\//i, '') };
      return { label: parsed.name, engine, url: withPassword(url, connectionPassword(parsed.name, env)) };
    }
  }
}

function passwordFromEnv(engine: Engine, env: NodeJS.ProcessEnv): string | undefined {
  const name = URL_PASSWORD_ENV[engine];
  const value = name === undefined ? undefined : env[name];
  return value === '' ? undefined : value;
}

function withPassword(url: string, password: string | undefined): string {
  if (password === undefined) return url;
  const parsed = new URL(url);
  parsed.password = password;
  return parsed.toString();
}
