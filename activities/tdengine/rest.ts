/**
 * A minimal TDengine client over taosAdapter's REST API (`POST /rest/sql[/<db>]`, SQL as the raw body, HTTP Basic
 * auth), built on Node's global `fetch`: no native connector, no extra dependency. The API is stateless (`USE db`
 * has no effect), so a database is named in the URL path or as a prefix in the SQL.
 *
 * Why our own: answers need care that a plain `res.json()` does not give — errors usually arrive as HTTP 200 with
 * `code != 0`, BIGINT and TIMESTAMP values exceed what a JS number holds exactly, and binary types are hex text.
 * Rows come back typed from `column_meta`; failures become DbopsErrors with a stable code and never the password.
 */
import { DbopsError, ErrorCode, type ErrorCodeValue } from '../../common/errors';

/** taosAdapter's default REST port. */
export const TDENGINE_REST_PORT = 6041;

/** Default time one REST call may take, from connect to the last byte of the answer. */
export const TDENGINE_DEFAULT_TIMEOUT_MS = 15_000;

/** Where and as whom to talk to taosAdapter. */
export interface TdengineEndpoint {
  /** `tdengine://user@host:6041` (plain HTTP), or `http(s)://host:6041`; an optional `/<db>` path names a default database. */
  url: string;
  /** Overrides the URL's user; default `root`. */
  user?: string;
  /** Overrides a password in the URL. Never appears in messages. */
  password?: string;
  /** Per-request timeout in milliseconds (default {@link TDENGINE_DEFAULT_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/** One column of a result, as `column_meta` describes it. */
export interface TdengineColumn {
  name: string;
  /** Upper-case type name, e.g. `TIMESTAMP`, `BIGINT UNSIGNED`, `NCHAR`, `DECIMAL(8, 4)`. */
  type: string;
  /** Storage length in bytes (declared length for VARCHAR/NCHAR/VARBINARY). */
  length: number;
}

/** A typed result. */
export interface TdengineResult {
  columns: TdengineColumn[];
  /**
   * One object per row, keyed by column name. BOOL → boolean; integer types → number, except BIGINT values beyond
   * Number.MAX_SAFE_INTEGER → decimal string; FLOAT/DOUBLE → number; DECIMAL → string; TIMESTAMP → ISO-8601 UTC
   * string keeping the database's sub-millisecond digits; VARBINARY/GEOMETRY/BLOB → lower-case hex string;
   * VARCHAR/NCHAR/JSON → as sent; NULL → null.
   */
  rows: Record<string, unknown>[];
}

/** Options of one query. */
export interface TdengineQueryOptions {
  /** Overrides the endpoint's timeout for this call. */
  timeoutMs?: number;
}

/** A parsed endpoint URL: where to send requests and what to show in messages. */
export interface TdengineUrl {
  /** `http(s)://host:port`, no user-info, no path. */
  baseUrl: string;
  /** `host:port`, safe to show. */
  host: string;
  user?: string;
  /** A password written in the URL (accepted for local tests; workflow inputs never carry one). */
  password?: string;
  /** A default database from the URL path. */
  database?: string;
}

/**
 * Parses an endpoint URL. Accepted forms: `tdengine://[user@]host[:port][/db]` — plain HTTP to taosAdapter, the form
 * workflow inputs use (no password: the worker adds it) — and `http(s)://[user@]host[:port][/db]`, optionally with
 * the `/rest/sql` prefix. The port defaults to 6041 for `tdengine://` and to the scheme's default for http(s).
 * Throws a BadInput DbopsError for anything else.
 */
export function parseTdengineUrl(url: string): TdengineUrl {
  const trimmed = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme !== 'tdengine' && scheme !== 'http' && scheme !== 'https') {
    throw new DbopsError(
      ErrorCode.BadInput,
      `"${safeUrlText(trimmed)}" is not a TDengine REST endpoint: use tdengine://user@host:6041 or http(s)://host:6041`,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(scheme === 'tdengine' ? `http${trimmed.slice('tdengine'.length)}` : trimmed);
  } catch {
    throw new DbopsError(ErrorCode.BadInput, `"${safeUrlText(trimmed)}" is not a valid URL`);
  }
  if (parsed.hostname === '') throw new DbopsError(ErrorCode.BadInput, `"${safeUrlText(trimmed)}" names no host`);
  const port = parsed.port || (scheme === 'tdengine' ? String(TDENGINE_REST_PORT) : '');
  const hostPort = port === '' ? parsed.hostname : `${parsed.hostname}:${port}`;
  const segments = parsed.pathname
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s));
  if (segments[0] === 'rest' && segments[1] === 'sql') segments.splice(0, 2);
  if (segments.length > 1) {
    throw new DbopsError(
      ErrorCode.BadInput,
      `"${safeUrlText(trimmed)}": the path may only name one database (e.g. tdengine://root@host:6041/power)`,
    );
  }
  const result: TdengineUrl = { baseUrl: `${parsed.protocol}//${hostPort}`, host: hostPort };
  if (parsed.username !== '') result.user = decodeURIComponent(parsed.username);
  if (parsed.password !== '') result.password = decodeURIComponent(parsed.password);
  if (segments[0] !== undefined) result.database = segments[0];
  return result;
}

/**
 * The error of an answer with `code != 0`: the server is up and rejected the statement. `serverCode` is TDengine's
 * own code (low 16 bits, e.g. 0x2600 for a syntax error); `code` is the dbops code it maps to.
 */
export class TdengineServerError extends DbopsError {
  readonly serverCode: number;

  constructor(code: ErrorCodeValue, message: string, serverCode: number) {
    super(code, message);
    this.serverCode = serverCode;
  }
}

/** Stateless REST client for one taosAdapter endpoint. */
export class TdengineRest {
  /** `host:port`, for messages. */
  readonly host: string;
  /** The default database from the URL, if any. */
  readonly database: string | undefined;
  private readonly baseUrl: string;
  private readonly authorization: string;
  private readonly timeoutMs: number;

  constructor(endpoint: TdengineEndpoint) {
    const url = parseTdengineUrl(endpoint.url);
    this.host = url.host;
    this.database = url.database;
    this.baseUrl = url.baseUrl;
    const user = endpoint.user ?? url.user ?? 'root';
    const password = endpoint.password ?? url.password ?? '';
    this.authorization = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
    this.timeoutMs = endpoint.timeoutMs ?? TDENGINE_DEFAULT_TIMEOUT_MS;
  }

  /**
   * Runs one statement; `db` (else the URL's database) goes into the path as the default database. Throws a
   * DbopsError: Unreachable (retryable) for a refused, dropped or timed-out request and for transient server
   * states; AuthFailed for 401 or an authentication error code; DatabaseMissing for an unknown database;
   * BadInput for SQL the server rejects and for answers that are not taosAdapter's.
   */
  async query(sql: string, db?: string, options: TdengineQueryOptions = {}): Promise<TdengineResult> {
    const database = db ?? this.database;
    const path = database === undefined ? '/rest/sql' : `/rest/sql/${encodeURIComponent(database)}`;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    let status: number;
    let text: string;
    try {
      const res = await fetch(`${this.baseUrl}${path}`, {
        method: 'POST',
        headers: { Authorization: this.authorization, 'Content-Type': 'text/plain; charset=utf-8' },
        body: sql,
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      throw this.transportError(err, timeoutMs);
    }
    return this.interpret(status, text);
  }

  private interpret(status: number, text: string): TdengineResult {
    let body: unknown;
    try {
      body = parseJsonKeepingBigIntegers(text);
    } catch {
      body = undefined;
    }
    const answer = isObject(body) ? body : undefined;
    const code = answer === undefined ? undefined : toNumber(answer['code']);
    const desc = typeof answer?.['desc'] === 'string' ? answer['desc'] : undefined;

    if (status === 401 || status === 403) {
      throw new DbopsError(
        ErrorCode.AuthFailed,
        `TDengine ${this.host}: authentication failed (HTTP ${status}${desc ? `: ${desc}` : ''}); check the user and the password in the worker environment`,
      );
    }
    if (code !== undefined && code !== 0) {
      const shown = `0x${(code & 0xffff).toString(16).toUpperCase().padStart(4, '0')}`;
      throw new TdengineServerError(
        codeOfServerError(code, desc ?? ''),
        `TDengine ${this.host}: ${desc ?? 'error'} (code ${shown})`,
        code & 0xffff,
      );
    }
    if (status === 404) {
      throw new DbopsError(
        ErrorCode.BadInput,
        `TDengine ${this.host}: HTTP 404 for /rest/sql; is this taosAdapter's REST port (default 6041)?`,
      );
    }
    if (status === 502 || status === 503 || status === 504) {
      throw new DbopsError(ErrorCode.Unreachable, `TDengine ${this.host}: HTTP ${status}; retrying`);
    }
    if (status !== 200 || answer === undefined || code !== 0) {
      throw new DbopsError(
        status >= 500 ? ErrorCode.Unreachable : ErrorCode.BadInput,
        `TDengine ${this.host}: unexpected answer (HTTP ${status}: ${text.slice(0, 200).replace(/\s+/g, ' ')})`,
      );
    }
    return typedResult(answer);
  }

  private transportError(err: unknown, timeoutMs: number): DbopsError {
    if (err instanceof DbopsError) return err;
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') {
      return new DbopsError(
        ErrorCode.Unreachable,
        `TDengine ${this.host}: no answer within ${timeoutMs} ms; is taosAdapter running and reachable?`,
        { cause: err },
      );
    }
    const detail = e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
    return new DbopsError(
      ErrorCode.Unreachable,
      `TDengine ${this.host}: cannot connect (${detail}); is taosAdapter running and reachable?`,
      { cause: err },
    );
  }
}

// Error codes (low 16 bits) the server documents as authentication failures: TSDB_CODE_MND_USER_* and AUTH_FAILURE.
const AUTH_CODES = new Set([0x0350, 0x0351, 0x0352, 0x0353, 0x0354, 0x0357]);
// TSDB_CODE_RPC_NETWORK_UNAVAIL and other RPC-level failures (0x0000–0x002F are RPC/system codes).
const NETWORK_CODES = new Set([0x000b, 0x0015, 0x0018, 0x0019, 0x0020]);
const DB_MISSING_CODES = new Set([0x0388]);

function codeOfServerError(code: number, desc: string): ErrorCodeValue {
  const low = code & 0xffff;
  if (AUTH_CODES.has(low) || /authentication failure|invalid user|user not exist/i.test(desc)) {
    return ErrorCode.AuthFailed;
  }
  if (DB_MISSING_CODES.has(low) || /database not exist/i.test(desc)) return ErrorCode.DatabaseMissing;
  if (NETWORK_CODES.has(low) || /unavailable|not ready|leader|timed? ?out|unreachable|out of memory/i.test(desc)) {
    return ErrorCode.Unreachable;
  }
  return ErrorCode.BadInput;
}

/** A URL shown in a message: user-info dropped entirely. */
function safeUrlText(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#\s]*@/i, '$1');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return undefined;
}

/**
 * JSON.parse, except that integers beyond Number.MAX_SAFE_INTEGER are kept as their decimal text (as strings):
 * a BIGINT such as 9223372036854775807 would otherwise silently become 9223372036854775808.
 */
export function parseJsonKeepingBigIntegers(text: string): unknown {
  let out = '';
  let last = 0;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
      const token = m?.[0] ?? ch;
      if (m !== null && m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(Number(token))) {
        out += `${text.slice(last, i)}"${token}"`;
        last = i + token.length;
      }
      i += token.length;
      continue;
    }
    i++;
  }
  return JSON.parse(out + text.slice(last));
}

// Numeric type codes of TDengine 2.x answers (3.x sends type names).
const TYPE_CODES: Record<number, string> = {
  0: 'NULL',
  1: 'BOOL',
  2: 'TINYINT',
  3: 'SMALLINT',
  4: 'INT',
  5: 'BIGINT',
  6: 'FLOAT',
  7: 'DOUBLE',
  8: 'VARCHAR',
  9: 'TIMESTAMP',
  10: 'NCHAR',
  11: 'TINYINT UNSIGNED',
  12: 'SMALLINT UNSIGNED',
  13: 'INT UNSIGNED',
  14: 'BIGINT UNSIGNED',
  15: 'JSON',
  16: 'VARBINARY',
  17: 'DECIMAL',
  18: 'BLOB',
  20: 'GEOMETRY',
};

function typedResult(answer: Record<string, unknown>): TdengineResult {
  const meta = Array.isArray(answer['column_meta']) ? answer['column_meta'] : [];
  const columns: TdengineColumn[] = meta.map((m, i) => {
    const entry = Array.isArray(m) ? (m as unknown[]) : [];
    const rawType = entry[1];
    const type =
      typeof rawType === 'string'
        ? rawType.toUpperCase()
        : (TYPE_CODES[toNumber(rawType) ?? -1] ?? String(rawType ?? 'UNKNOWN'));
    return { name: typeof entry[0] === 'string' ? entry[0] : `col${i}`, type, length: toNumber(entry[2]) ?? 0 };
  });
  const data = Array.isArray(answer['data']) ? answer['data'] : [];
  const rows = data.map((row) => {
    const out: Record<string, unknown> = {};
    columns.forEach((col, i) => {
      const raw: unknown = Array.isArray(row) ? row[i] : isObject(row) ? row[col.name] : undefined;
      out[col.name] = typedValue(col.type, raw);
    });
    return out;
  });
  return { columns, rows };
}

/** Converts one cell by its column type (see {@link TdengineResult.rows}). */
export function typedValue(type: string, raw: unknown): unknown {
  if (raw === null || raw === undefined) return null;
  const base = type.replace(/\(.*$/, '').trim();
  switch (base) {
    case 'BOOL':
      return typeof raw === 'boolean' ? raw : raw === 1 || raw === '1' || raw === 'true';
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'TINYINT UNSIGNED':
    case 'SMALLINT UNSIGNED':
    case 'INT UNSIGNED':
    case 'FLOAT':
    case 'DOUBLE':
      return Number(raw);
    case 'BIGINT':
    case 'BIGINT UNSIGNED': {
      const n = Number(raw);
      return Number.isSafeInteger(n) ? n : String(raw);
    }
    case 'DECIMAL':
    case 'DECIMAL64':
      return String(raw);
    case 'TIMESTAMP':
      return timestampToIso(raw);
    case 'VARBINARY':
    case 'GEOMETRY':
    case 'BLOB':
    case 'MEDIUMBLOB':
      return typeof raw === 'string' ? raw.toLowerCase() : raw;
    default:
      return raw;
  }
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * An RFC 3339 timestamp (any offset) or an epoch number → `YYYY-MM-DDTHH:MM:SS.fff[fff[fff]]Z`. Fractions keep their
 * digits (microsecond and nanosecond databases lose nothing); epochs are read as ms, µs or ns by magnitude.
 * Anything else is returned unchanged.
 */
export function timestampToIso(raw: unknown): unknown {
  if (typeof raw === 'number' || (typeof raw === 'string' && /^-?\d+$/.test(raw))) {
    const value = BigInt(typeof raw === 'number' ? Math.trunc(raw) : raw);
    const abs = value < 0n ? -value : value;
    const [digits, perMs] =
      abs < 100_000_000_000_000n ? [3, 1n] : abs < 100_000_000_000_000_000n ? [6, 1000n] : [9, 1_000_000n];
    let ms = value / perMs;
    let rest = value % perMs;
    if (rest < 0n) {
      rest += perMs;
      ms -= 1n;
    }
    const iso = new Date(Number(ms)).toISOString();
    const sub = digits === 3 ? '' : rest.toString().padStart(digits - 3, '0');
    return `${iso.slice(0, -1)}${sub}Z`;
  }
  if (typeof raw !== 'string') return raw;
  const m = RFC3339.exec(raw);
  if (m === null) return raw;
  const [, date, time, fraction = '', zone = 'Z'] = m;
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const seconds = Date.parse(`${date}T${time}${offset}`);
  if (Number.isNaN(seconds)) return raw;
  const digits = fraction.length <= 3 ? 3 : fraction.length <= 6 ? 6 : 9;
  return `${new Date(seconds).toISOString().slice(0, 19)}.${fraction.padEnd(digits, '0')}Z`;
}
