/**
 * Host-keyed credential files in libpq's `.pgpass` format — one `host:port:database:user:password` per
 * line, `*` matching anything, `\:` and `\\` escaping, `#` starting a comment, the first matching line
 * winning. A password is only ever sent to the host a line names, never to whatever host an input names.
 * As libpq does, a file that its group or others may read is ignored.
 *
 * PostgreSQL reads `PGPASSFILE` (default `~/.pgpass`); MySQL/MariaDB and Redis have no host-keyed file of
 * their own, so dbops reads the same format from `DBOPS_MYSQL_PASSFILE` and `DBOPS_REDIS_PASSFILE` (for
 * Redis the database field is the db index and the user field the ACL user, `default` when none).
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../../common/connection-ref';

/** What a credential line is matched against. */
export interface CredentialKey {
  host: string;
  port: string;
  database: string;
  user: string;
}

/** The environment variable that names each engine's credential file. */
export const PASSFILE_VARIABLE: Readonly<Record<Engine, string | undefined>> = {
  postgres: 'PGPASSFILE',
  mysql: 'DBOPS_MYSQL_PASSFILE',
  redis: 'DBOPS_REDIS_PASSFILE',
  sqlite: undefined,
};

/** The credential file of an engine from the worker's environment, or undefined when it has none. */
export function passfilePath(engine: Engine, env: NodeJS.ProcessEnv): string | undefined {
  const variable = PASSFILE_VARIABLE[engine];
  const path = variable === undefined ? undefined : env[variable];
  if (path) return path;
  // libpq's own default; the other engines have none.
  return engine === 'postgres' ? join(env.HOME ?? homedir(), '.pgpass') : undefined;
}

/** The password of the first line matching `key`, or undefined (no file, unreadable, too open, no match). */
export function lookupPassword(path: string | undefined, key: CredentialKey): string | undefined {
  if (path === undefined) return undefined;
  let text: string;
  try {
    const stat = statSync(path);
    if (!stat.isFile() || (stat.mode & 0o077) !== 0) return undefined;
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = splitFields(line);
    if (fields.length < 5) continue;
    const [host, port, database, user] = fields as [string, string, string, string];
    const password = fields.slice(4).join(':');
    if (
      matches(host, key.host) &&
      matches(port, key.port) &&
      matches(database, key.database) &&
      matches(user, key.user)
    )
      return password;
  }
  return undefined;
}

function matches(pattern: string, value: string): boolean {
  return pattern === '*' || pattern === value;
}

/** Splits on unescaped `:`; `\:` and `\\` stand for `:` and `\`. */
function splitFields(line: string): string[] {
  const fields: string[] = [];
  let current = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) current += line[++i];
    else if (c === ':') {
      fields.push(current);
      current = '';
    } else current += c;
  }
  fields.push(current);
  return fields;
}
