/**
 * How a workflow input names a database: a configured connection name (`local_pg`), a URL without a
 * password (`postgres://root@db:5432/app`), or, for SQLite, a file path or `sqlite:///abs/path`.
 * Pure: parsing only; the worker resolves names and passwords (activities/connections/resolve.ts).
 */
import { redactSecrets } from './secret-guard';

/** Database engines dbops talks to. */
export type Engine = 'postgres' | 'mysql' | 'redis' | 'sqlite';

/** A reference as written in an input, classified but not yet resolved. */
export type ConnectionRef =
  | { kind: 'name'; name: string }
  | { kind: 'url'; engine: Engine; url: string }
  | { kind: 'file'; engine: 'sqlite'; path: string };

const SCHEME_ENGINES: Readonly<Record<string, Engine>> = {
  postgres: 'postgres',
  postgresql: 'postgres',
  mysql: 'mysql',
  mariadb: 'mysql',
  redis: 'redis',
  rediss: 'redis',
  sqlite: 'sqlite',
};

/** Connection names: a letter, then letters, digits, `_` or `-` (they become env var suffixes). */
export const CONNECTION_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

/** The environment variable that holds the password of a named connection: `local-pg` → `DBOPS_PASSWORD_LOCAL_PG`. */
export function passwordEnvVar(name: string): string {
  return `DBOPS_PASSWORD_${envSuffix(name)}`;
}

/** The environment variable that may define a named connection's URL: `DBOPS_CONNECTION_LOCAL_PG`. */
export function connectionEnvVar(name: string): string {
  return `DBOPS_CONNECTION_${envSuffix(name)}`;
}

function envSuffix(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/** The engine a URL's scheme selects, or undefined for an unknown scheme. */
export function engineOfUrl(url: string): Engine | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  return scheme === undefined ? undefined : SCHEME_ENGINES[scheme];
}

/** Supported URL schemes, for error messages. */
export const SUPPORTED_SCHEMES = Object.keys(SCHEME_ENGINES);

/**
 * Classifies a reference. Returns an error sentence instead of throwing so that workflows and the CLI
 * can each report it their own way.
 */
export function parseConnectionRef(ref: string): ConnectionRef | { error: string } {
  const trimmed = ref.trim();
  if (trimmed === '') return { error: 'a connection reference is empty: give a connection name or a URL' };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    const engine = engineOfUrl(trimmed);
    if (engine === undefined) {
      return {
        error: `"${trimmed.split('://')[0]}" is not a supported URL scheme in "${redactSecrets(trimmed)}": use one of ${SUPPORTED_SCHEMES.join(', ')}`,
      };
    }
    if (engine === 'sqlite') {
      const path = trimmed.replace(/^sqlite:\/\//i, '');
      if (!path.startsWith('/')) return { error: `"${trimmed}" must be sqlite:///absolute/path (three slashes)` };
      return { kind: 'file', engine, path };
    }
    return { kind: 'url', engine, url: trimmed };
  }
  if (trimmed.includes('/') || /\.(db|sqlite3?|db3)$/i.test(trimmed)) {
    return { kind: 'file', engine: 'sqlite', path: trimmed };
  }
  if (!CONNECTION_NAME.test(trimmed)) {
    return {
      error: `"${trimmed}" is not a valid connection name: use letters, digits, "_" or "-", starting with a letter`,
    };
  }
  return { kind: 'name', name: trimmed };
}
