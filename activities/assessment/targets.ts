/**
 * The targets of an assessment: dbops' own references (connection names, password-free URLs, SQLite paths)
 * plus TDengine REST endpoints (`tdengine://user@host:6041`), whose password comes only from a host-keyed
 * credential file (`DBOPS_TDENGINE_PASSFILE`, .pgpass format) — never from the input.
 */
import { backupTargetName } from '../../common/contracts/backup';
import type { AssessedEngine } from '../../common/contracts/assessment';
import { DbopsError, ErrorCode } from '../../common/errors';
import { findSecrets, describeSecretFindings, redactSecrets } from '../../common/secret-guard';
import type { DbopsConfig } from '../../config/load';
import { lookupPassword } from '../connections/passfile';
import { resolveTarget, type ResolvedTarget } from '../connections/resolve';

/** A target as the assessment workflow sees it (no password). */
export interface AssessTarget {
  ref: string;
  /** Folder-safe name: the connection name, or a slug of the URL/path. */
  name: string;
  label: string;
  engine: AssessedEngine;
}

/** A TDengine REST endpoint resolved on the worker. */
export interface TdengineEndpoint {
  url: string;
  user: string;
  password?: string;
  label: string;
}

const TDENGINE = /^tdengine:\/\//i;

/** Classifies one reference; throws a DbopsError naming it when it cannot be used. */
export function describeAssessTarget(ref: string, config: DbopsConfig): AssessTarget {
  if (TDENGINE.test(ref)) {
    const secrets = findSecrets(ref, 'target');
    if (secrets.length > 0) throw new DbopsError(ErrorCode.SecretInInput, describeSecretFindings(secrets));
    const u = new URL(ref.replace(TDENGINE, 'http://'));
    return {
      ref,
      name: `tdengine-${u.hostname}-${u.port || '6041'}`.replace(/[^A-Za-z0-9._-]+/g, '-'),
      label: redactSecrets(ref),
      engine: 'tdengine',
    };
  }
  const resolved = resolveTarget(ref, config);
  return { ref, name: backupTargetName(ref), label: resolved.label, engine: resolved.engine };
}

/** The REST endpoint of a `tdengine://user@host:port` reference, with the password bound to that host. */
export function tdengineEndpoint(ref: string, env: NodeJS.ProcessEnv = process.env): TdengineEndpoint {
  const u = new URL(ref.replace(TDENGINE, 'http://'));
  const user = decodeURIComponent(u.username) || 'root';
  const port = u.port || '6041';
  const password = lookupPassword(env.DBOPS_TDENGINE_PASSFILE, { host: u.hostname, port, database: '*', user });
  return { url: `http://${u.hostname}:${port}`, user, password, label: redactSecrets(ref) };
}

/** The resolved database target of a non-TDengine reference. */
export function databaseTarget(ref: string, config: DbopsConfig): ResolvedTarget {
  return resolveTarget(ref, config);
}
