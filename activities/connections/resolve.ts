/**
 * Turns a reference from a workflow input (a connection name, a URL without password, a SQLite path) into
 * what a driver needs. Credentials are bound to their hosts: a named connection gets the password
 * configured for it (`DBOPS_PASSWORD_<NAME>`), an ad-hoc URL only a password that a host-keyed credential
 * file holds for exactly that host, port, database and user (passfile.ts) — never a blanket variable such
 * as PGPASSWORD, which would hand the worker's password to any server an input names. The password stays
 * inside the activity and is never returned to a workflow.
 */
import { isAbsolute, resolve } from 'node:path';
import {
  connectionEnvVar,
  type Engine,
  engineOfUrl,
  parseConnectionRef,
  passwordEnvVar,
} from '../../common/connection-ref';
import { DbopsError, ErrorCode } from '../../common/errors';
import { describeSecretFindings, findSecrets, redactSecrets } from '../../common/secret-guard';
import { connectionPassword, type DbopsConfig } from '../../config/load';
import { type CredentialKey, lookupPassword, PASSFILE_VARIABLE, passfilePath } from './passfile';

/** A reference resolved on the worker. */
export interface ResolvedTarget {
  /** Safe to show and to return to workflows: the connection name, or the URL/path without secrets. */
  label: string;
  engine: Engine;
  /** Driver URL without the password (postgres, mysql, redis). */
  url?: string;
  /** The password bound to this host, if any. Never leaves the worker. */
  password?: string;
  /** Where a password for this target would come from (for messages), e.g. `DBOPS_PASSWORD_LOCAL_PG`. */
  passwordFrom?: string;
  /** Absolute file path (sqlite). */
  path?: string;
}

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
    case 'url': {
      const file = passfilePath(parsed.engine, env);
      return {
        label: redactSecrets(parsed.url),
        engine: parsed.engine,
        url: parsed.url,
        password: lookupPassword(file, credentialKey(parsed.engine, parsed.url)),
        passwordFrom: `a line for this host in ${file ?? PASSFILE_VARIABLE[parsed.engine]} (host:port:database:user:password)`,
      };
    }
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
      return {
        label: parsed.name,
        engine,
        url,
        password: connectionPassword(parsed.name, env),
        passwordFrom: passwordEnvVar(parsed.name),
      };
    }
  }
}

/** What a credential-file line is matched against, with each engine's defaults. */
export function credentialKey(engine: Engine, url: string): CredentialKey {
  const u = new URL(url);
  const defaults = { postgres: '5432', mysql: '3306', redis: '6379', sqlite: '' } as const;
  const user = decodeURIComponent(u.username);
  const path = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port || defaults[engine],
    database: engine === 'redis' ? path || '0' : path || (engine === 'postgres' ? user : ''),
    user: engine === 'redis' ? user || 'default' : user,
  };
}
