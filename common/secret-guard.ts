/**
 * The one place that decides whether a value may enter workflow history (docs/architecture.md, rule 1: the Web UI shows every input and history is kept).
 *
 * The Web UI shows every workflow input and result forever, so an input must name a connection or carry a
 * URL without a password; the worker adds the password from its own environment. This module is pure and
 * is used on both sides: the client interceptor refuses to start such a workflow, and every workflow checks
 * its input again first thing (the UI's Start Workflow form bypasses every client).
 */

/** Where a secret was found and why it counts as one. */
export interface SecretFinding {
  /** JSON-ish path of the value, e.g. `input.connections[1]`. */
  path: string;
  /** What was found, with the secret itself masked. */
  reason: string;
}

// Parameter and libpq keyword names that carry a secret, and object keys whose non-empty value is one.
const SECRET_WORDS = 'password|passwd|pwd|sslpassword|secret|token|auth|api_?key';
const SECRET_KEYS =
  'password|passwd|pwd|pass|secret|secret_?access_?key|access_?token|token|api_?key|auth|authorization|private_?key|credentials?';

// scheme://user:password@host – the password part is non-empty. `redis://:pw@host` counts too.
const URL_WITH_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@\s]*?):([^/?#@\s]+)@/i;
// Query-string or libpq keyword forms: ?password=…, &sslpassword=…, "host=x password=y".
const PASSWORD_PARAM = new RegExp(`(?:^|[?&\\s;])(${SECRET_WORDS})\\s*=\\s*[^&\\s;]+`, 'i');
const SECRET_KEY = new RegExp(`^(${SECRET_KEYS})$`, 'i');

const MAX_DEPTH = 32;

// The same forms, anywhere in a longer text (an error message, a log line), for masking.
const URL_PASSWORD_ANYWHERE = /([a-z][a-z0-9+.-]*:\/\/)([^/?#@\s:]*):([^/?#@\s]+)@/gi;
const PARAM_ANYWHERE = new RegExp(`([?&](?:${SECRET_WORDS})=)[^&\\s]+`, 'gi');
const KEYWORD_ANYWHERE = new RegExp(
  `((?:^|[\\s;,(])(?:${SECRET_WORDS})\\s*=\\s*)('(?:[^'\\\\]|\\\\.)*'|[^\\s;,)&"]+)`,
  'gi',
);
const JSON_SECRET_ANYWHERE = new RegExp(`("(?:${SECRET_KEYS})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi');

/**
 * Returns `text` with every secret form the guard detects replaced by `***`: URL user-info passwords,
 * password query parameters, libpq keyword pairs (`host=db password=…`) and JSON secret fields. Safe to
 * log, show or store.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(URL_PASSWORD_ANYWHERE, (_m, scheme: string, user: string) => `${scheme}${user}:***@`)
    .replace(PARAM_ANYWHERE, '$1***')
    .replace(KEYWORD_ANYWHERE, '$1***')
    .replace(JSON_SECRET_ANYWHERE, '$1"***"');
}

/** True when the string carries a password (URL user-info, query parameter or libpq keyword). */
export function stringHasSecret(value: string): boolean {
  return URL_WITH_PASSWORD.test(value) || PASSWORD_PARAM.test(value);
}

/** Walks a workflow input (or signal argument) and lists every secret it carries. */
export function findSecrets(value: unknown, path = 'input'): SecretFinding[] {
  const findings: SecretFinding[] = [];
  walk(value, path, 0, findings);
  return findings;
}

function walk(value: unknown, path: string, depth: number, out: SecretFinding[]): void {
  if (depth > MAX_DEPTH || value === null || value === undefined) return;
  if (typeof value === 'string') {
    if (stringHasSecret(value)) out.push({ path, reason: `"${redactSecrets(value)}" contains a password` });
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(item, `${path}[${i}]`, depth + 1, out));
    return;
  }
  if (typeof value === 'object') {
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      const childPath = `${path}.${key}`;
      if (SECRET_KEY.test(key) && item !== null && item !== undefined && item !== '') {
        out.push({ path: childPath, reason: `field "${key}" holds a secret` });
        continue;
      }
      walk(item, childPath, depth + 1, out);
    }
  }
}

/** The operator-facing explanation: where the secret was and where it belongs instead. */
export function describeSecretFindings(findings: readonly SecretFinding[]): string {
  const where = findings.map((f) => `${f.path}: ${f.reason}`).join('; ');
  return (
    `refusing to start: the input carries a secret, and workflow inputs are stored in Temporal history ` +
    `and shown in the Web UI (${where}). Remove it from the input and give it to the worker instead: ` +
    `DBOPS_PASSWORD_<NAME> for a named connection (e.g. DBOPS_PASSWORD_LOCAL_PG), a line for that host in ` +
    `PGPASSFILE / DBOPS_MYSQL_PASSFILE / DBOPS_REDIS_PASSFILE for a URL, or DBOPS_S3_SECRET_ACCESS_KEY for S3.`
  );
}
