/**
 * The code scan of an assessment: which tables and key patterns an application's code touches, and how, found in
 * its sources (.py, .ts, .js, .go, .java) and SQL files — the part of the workload no server statistic shows
 * (jobs that run monthly, code paths not yet hit).
 *
 * SQL is found in string literals (adjacent and `+`-concatenated pieces joined, interpolations as `?`) and in
 * whole .sql files (split on `;` outside quotes, comments and dollar quoting), then parsed with a real SQL parser
 * (node-sql-parser: PostgreSQL, then MySQL) for its kind and tables. What does not parse is kept as `other` and
 * listed in `unparsed` with its file — never dropped. TDengine statements (supertables, windows, tags) are
 * recognised by their constructs and read by pattern; Redis calls by the command on a redis-like receiver, with
 * the key literal reduced to a pattern (`user:42` → `user:*`).
 */
import { type Dirent, promises as fs } from 'node:fs';
import { extname, join } from 'node:path';
import { Parser, type AST } from 'node-sql-parser';
import type { QueryPattern } from '../../common/contracts/assessment';
import { DbopsError, ErrorCode } from '../../common/errors';
import { normaliseSql, tdengineFeatures, tdengineTables } from '../tdengine/assess';

/** Limits of one scan. */
export interface CodeScanOptions {
  /** Files read at most (default 10,000); the rest are listed in `skipped`. */
  maxFiles?: number;
  /** Larger files are skipped and listed in `skipped` (default 1 MiB). */
  maxFileBytes?: number;
}

/** Reads and writes of one table (or Redis key pattern) across the code, and the files that touch it. */
export interface CodeTableUse {
  reads: number;
  writes: number;
  files: string[];
}

/** What {@link scanCode} found. */
export interface CodeScanResult {
  /** Files read. */
  files: number;
  /** One entry per normalised statement: `calls` is how many places use it, `files` where. */
  patterns: QueryPattern[];
  /** Per table (`schema.table` as written, `db.stable`, or a Redis key pattern such as `user:*`). DDL adds the file only. */
  byTable: Record<string, CodeTableUse>;
  /** SQL-looking text neither dialect parses (normalised: literals → `?`), with its file. Also counted as `other`. */
  unparsed: { file: string; text: string }[];
  /** Files or directories not read, and why (too large, maxFiles reached, unreadable). */
  skipped: { file: string; reason: string }[];
}

/** Source extensions scanned, and their literal syntax. */
const LANGUAGES: Record<string, Language> = {
  '.py': 'python',
  '.ts': 'js',
  '.js': 'js',
  '.go': 'go',
  '.java': 'java',
  '.sql': 'sql',
};
type Language = 'python' | 'js' | 'go' | 'java' | 'sql';

/** Directories never entered: dependencies, build output, VCS data. */
const SKIP_DIRS = new Set(['node_modules', '.git', 'vendor', 'dist', '.venv', 'venv', '__pycache__', '.hg', '.svn']);

const DEFAULT_MAX_FILES = 10_000;
const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;
/** Longest text kept in an `unparsed` entry. */
const MAX_UNPARSED_TEXT = 500;

/**
 * Scans `dirs` (directories or single files) for SQL, Redis calls and TDengine statements. Deterministic: files are
 * visited in name order. Throws BadInput for a path that does not exist.
 */
export async function scanCode(dirs: string[], options: CodeScanOptions = {}): Promise<CodeScanResult> {
  const maxFiles = options.maxFiles ?? DEFAULT_MAX_FILES;
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const acc = new Accumulator();
  const skipped: CodeScanResult['skipped'] = [];
  let files = 0;

  const visitFile = async (path: string): Promise<void> => {
    const language = LANGUAGES[extname(path).toLowerCase()];
    if (language === undefined) return;
    if (files >= maxFiles) {
      if (!skipped.some((s) => s.reason.startsWith('maxFiles'))) {
        skipped.push({ file: path, reason: `maxFiles (${maxFiles}) reached: this file and later ones were not read` });
      }
      return;
    }
    let text: string;
    try {
      const stat = await fs.stat(path);
      if (stat.size > maxFileBytes) {
        skipped.push({ file: path, reason: `${stat.size} bytes > maxFileBytes (${maxFileBytes})` });
        return;
      }
      text = await fs.readFile(path, 'utf8');
    } catch (err) {
      skipped.push({ file: path, reason: `unreadable: ${(err as Error).message}` });
      return;
    }
    files++;
    scanText(text, language, path, acc);
  };

  const visitDir = async (dir: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      skipped.push({ file: dir, reason: `unreadable: ${(err as Error).message}` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      // Symbolic links are not followed: no loops, no escaping the given directories.
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) await visitDir(path);
      } else if (entry.isFile()) {
        await visitFile(path);
      }
    }
  };

  for (const dir of dirs) {
    let stat;
    try {
      stat = await fs.stat(dir);
    } catch {
      throw new DbopsError(ErrorCode.BadInput, `code directory ${dir} does not exist on the worker's host`);
    }
    if (stat.isDirectory()) await visitDir(dir);
    else await visitFile(dir);
  }
  return { files, ...acc.result(), skipped };
}

/** Scans one file's text into the accumulator. */
function scanText(text: string, language: Language, file: string, acc: Accumulator): void {
  if (language === 'sql') {
    for (const statement of splitSqlStatements(text)) {
      // psql meta-commands (\connect, \set) are not SQL.
      const sql = statement
        .split('\n')
        .filter((line) => !/^\s*\\/.test(line))
        .join('\n')
        .trim();
      if (sql !== '') analyseSql(sql, file, acc);
    }
    return;
  }
  const { literals, code } = scanSource(text, language);
  for (const literal of joinConcatenated(literals, code)) {
    if (!looksLikeSql(literal)) continue;
    for (const statement of splitSqlStatements(literal)) {
      if (statement.trim() !== '') analyseSql(statement.trim(), file, acc);
    }
  }
  for (const call of findRedisCalls(code)) acc.add(file, call);
}

/** One finding before aggregation. */
interface Occurrence {
  text: string;
  kind: QueryPattern['kind'];
  reads: string[];
  writes: string[];
  /** Tables touched by DDL: the file is recorded, no read or write counted. */
  touched: string[];
}

/** Collects occurrences into patterns and per-table counts. */
class Accumulator {
  private readonly patterns = new Map<string, { pattern: QueryPattern; files: Set<string> }>();
  private readonly tables = new Map<string, { reads: number; writes: number; files: Set<string> }>();
  private readonly unparsed: CodeScanResult['unparsed'] = [];
  private readonly unparsedSeen = new Set<string>();

  add(file: string, o: Occurrence): void {
    const key = `${o.kind}\u0000${o.text}`;
    const all = [...new Set([...o.reads, ...o.writes, ...o.touched])].sort();
    const entry = this.patterns.get(key);
    if (entry === undefined) {
      this.patterns.set(key, {
        pattern: { text: o.text, kind: o.kind, tables: all, calls: 1 },
        files: new Set([file]),
      });
    } else {
      entry.pattern.calls = (entry.pattern.calls ?? 0) + 1;
      entry.pattern.tables = [...new Set([...entry.pattern.tables, ...all])].sort();
      entry.files.add(file);
    }
    const table = (name: string): { reads: number; writes: number; files: Set<string> } => {
      let t = this.tables.get(name);
      if (t === undefined) {
        t = { reads: 0, writes: 0, files: new Set() };
        this.tables.set(name, t);
      }
      t.files.add(file);
      return t;
    };
    for (const name of o.reads) table(name).reads++;
    for (const name of o.writes) table(name).writes++;
    for (const name of o.touched) table(name);
  }

  addUnparsed(file: string, text: string): void {
    const key = `${file}\u0000${text}`;
    if (this.unparsedSeen.has(key)) return;
    this.unparsedSeen.add(key);
    this.unparsed.push({ file, text });
  }

  result(): Pick<CodeScanResult, 'patterns' | 'byTable' | 'unparsed'> {
    const patterns = [...this.patterns.values()]
      .map(({ pattern, files }) => ({ ...pattern, files: [...files].sort() }))
      .sort((a, b) => (b.calls ?? 0) - (a.calls ?? 0) || a.kind.localeCompare(b.kind) || a.text.localeCompare(b.text));
    const byTable: Record<string, CodeTableUse> = {};
    for (const name of [...this.tables.keys()].sort()) {
      const t = this.tables.get(name);
      if (t !== undefined) byTable[name] = { reads: t.reads, writes: t.writes, files: [...t.files].sort() };
    }
    return { patterns, byTable, unparsed: this.unparsed };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// SQL

const parser = new Parser();
const DIALECTS = ['PostgresQL', 'MySQL'] as const;

/** Placeholders of drivers and string formatting: `%s`, `%(name)s`, `%d`, `?`, `$1`, `:name` (not `::cast`). */
const PLACEHOLDER = /%\(\w+\)s|%[sdvfq]\b|\?|\$\d+\b|(?<![:\w]):[A-Za-z_]\w*/g;

const READ_TYPES = new Set(['select']);
const WRITE_TYPES = new Set(['insert', 'replace', 'update', 'delete']);

/** Classifies and records one statement: TDengine by pattern, else parsed; unparseable → `other` + `unparsed`. */
function analyseSql(sql: string, file: string, acc: Accumulator): void {
  if (tdengineFeatures(sql).length > 0) {
    const { reads, writes } = tdengineTables(sql);
    acc.add(file, {
      text: normaliseSql(sql, { doubleQuotedStrings: true }),
      kind: 'tdengine',
      reads,
      writes: /^\s*CREATE\b/i.test(sql) ? [] : writes,
      touched: /^\s*CREATE\b/i.test(sql) ? writes : [],
    });
    return;
  }
  const parsed = parseSql(sql);
  const text = normaliseSql(sql, { doubleQuotedStrings: parsed?.dialect === 'MySQL' });
  if (parsed === undefined) {
    acc.add(file, { text, kind: 'other', reads: [], writes: [], touched: [] });
    acc.addUnparsed(file, text.slice(0, MAX_UNPARSED_TEXT));
    return;
  }
  acc.add(file, { text, ...parsed.use });
}

interface ParsedUse {
  kind: QueryPattern['kind'];
  reads: string[];
  writes: string[];
  touched: string[];
}

/** Parses with the PostgreSQL grammar, then MySQL's; undefined when neither accepts the text. */
function parseSql(sql: string): { dialect: (typeof DIALECTS)[number]; use: ParsedUse } | undefined {
  for (const dialect of DIALECTS) {
    let n = 0;
    const prepared = sql.replace(PLACEHOLDER, () => (dialect === 'PostgresQL' ? `$${++n}` : '?'));
    try {
      const { tableList, ast } = parser.parse(prepared, { database: dialect });
      return { dialect, use: useOf(tableList, Array.isArray(ast) ? ast : [ast]) };
    } catch {
      // try the next dialect
    }
  }
  return undefined;
}

/** Kind and tables from the parser's table list (`type::db::table`) and AST (CTE names, UPDATE … FROM sources). */
function useOf(tableList: string[], statements: AST[]): ParsedUse {
  const first = statements[0] as { type?: string } | undefined;
  const type = String(first?.type ?? '').toLowerCase();
  const kind: QueryPattern['kind'] =
    type === 'select'
      ? 'select'
      : type === 'insert' || type === 'replace'
        ? 'insert'
        : type === 'update' || type === 'delete'
          ? type
          : ['create', 'alter', 'drop', 'truncate', 'rename'].includes(type)
            ? 'ddl'
            : 'other';
  const cteNames = new Set<string>();
  const updateSources = new Set<string>();
  for (const s of statements as unknown as Record<string, unknown>[]) {
    for (const w of (Array.isArray(s['with']) ? s['with'] : []) as { name?: { value?: unknown } | string }[]) {
      const name = typeof w.name === 'string' ? w.name : w.name?.value;
      if (typeof name === 'string') cteNames.add(name);
    }
    if (String(s['type']).toLowerCase() === 'update' && Array.isArray(s['from'])) {
      for (const f of s['from'] as { db?: string | null; table?: unknown }[]) {
        if (typeof f.table === 'string') updateSources.add(qualified(f.db ?? null, f.table));
      }
    }
  }
  const reads = new Set<string>();
  const writes = new Set<string>();
  const touched = new Set<string>();
  for (const entry of tableList) {
    const [op = '', db = 'null', table = ''] = entry.split('::');
    if (table === '' || (db === 'null' && cteNames.has(table))) continue;
    const name = qualified(db === 'null' ? null : db, table);
    const action = op.toLowerCase();
    if (action === 'update' && updateSources.has(name)) reads.add(name);
    else if (READ_TYPES.has(action)) reads.add(name);
    else if (WRITE_TYPES.has(action)) writes.add(name);
    else touched.add(name);
  }
  if (kind === 'ddl' && touched.size === 0) {
    // Some DDL (ALTER TABLE) leaves the table list empty: take the AST's table(s).
    for (const s of statements as unknown as Record<string, unknown>[]) {
      for (const t of (Array.isArray(s['table']) ? s['table'] : []) as { db?: string | null; table?: unknown }[]) {
        if (typeof t.table === 'string') touched.add(qualified(t.db ?? null, t.table));
      }
    }
  }
  for (const w of writes) reads.delete(w);
  return { kind, reads: [...reads].sort(), writes: [...writes].sort(), touched: [...touched].sort() };
}

function qualified(db: string | null, table: string): string {
  return db === null || db === '' ? table : `${db}.${table}`;
}

/**
 * Splits SQL text on `;` outside single/double/back quotes, `--` and `/* *\/` comments and PostgreSQL dollar
 * quoting (`$$ … $$`, `$tag$ … $tag$`). Statements are returned trimmed, empty ones dropped.
 */
export function splitSqlStatements(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end + 1;
    } else if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 2;
    } else if (ch === "'" || ch === '"' || ch === '`') {
      i++;
      while (i < text.length && text[i] !== ch) i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (ch === '$' && /^\$(\w*)\$/.test(text.slice(i, i + 64)) && !/\w/.test(text[i - 1] ?? '')) {
      const tag = (/^\$(\w*)\$/.exec(text.slice(i, i + 64)) as RegExpExecArray)[0];
      const end = text.indexOf(tag, i + tag.length);
      i = end === -1 ? text.length : end + tag.length;
    } else if (ch === ';') {
      out.push(text.slice(start, i));
      i++;
      start = i;
    } else {
      i++;
    }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== '' && !/^(?:--[^\n]*\n?|\/\*[\s\S]*?\*\/|\s)*$/.test(s));
}

/** Statement openings that mark a literal as SQL (case-insensitive). */
const SQL_START = new RegExp(
  '^\\s*\\(?\\s*(?:' +
    [
      'SELECT\\b[\\s\\S]*\\bFROM\\b',
      'SELECT\\s+[\\w*@(`"]',
      'INSERT\\s+(?:IGNORE\\s+)?INTO\\b',
      'REPLACE\\s+INTO\\b',
      'UPDATE\\s+[\\w."`\\[\\]]+\\s+SET\\b',
      'DELETE\\s+FROM\\b',
      'MERGE\\s+INTO\\b',
      'WITH\\s+(?:RECURSIVE\\s+)?[\\w"`]+\\s*(?:\\([^)]*\\)\\s*)?AS\\s*\\(',
      'CREATE\\s+(?:OR\\s+REPLACE\\s+)?(?:TEMP(?:ORARY)?\\s+)?(?:UNIQUE\\s+)?(?:TABLE|STABLE|INDEX|VIEW|DATABASE|SCHEMA|SEQUENCE|TRIGGER|FUNCTION|MATERIALIZED\\s+VIEW|TOPIC|STREAM)\\b',
      'ALTER\\s+(?:TABLE|STABLE|DATABASE|INDEX|VIEW|SEQUENCE)\\b',
      'DROP\\s+(?:TABLE|STABLE|INDEX|VIEW|DATABASE|SCHEMA|SEQUENCE)\\b',
      'TRUNCATE\\s+(?:TABLE\\s+)?[\\w"`]',
      'SHOW\\s+(?:[\\w`]+\\.)?(?:STABLES|TABLES|DATABASES|QUERIES|VGROUPS|DNODES)\\b',
      'SHOW\\s+TABLE\\s+DISTRIBUTED\\b',
      'DESCRIBE\\s+[\\w`]',
    ].join('|') +
    ')',
  'i',
);

/**
 * True when a literal reads as SQL. Prose can start like SQL ("Select a file from the list"), so an upper-case
 * first keyword counts as SQL (kept even when broken), a lower-case one needs SQL punctuation (`=`, `*`, `(`, `,`,
 * a placeholder) or must parse, and a capitalised one (sentence case) needs the punctuation.
 */
function looksLikeSql(text: string): boolean {
  if (text.length < 8) return false;
  const m = SQL_START.exec(text);
  if (m === null) return false;
  const keyword = /\w+/.exec(m[0])?.[0] ?? '';
  if (keyword === keyword.toUpperCase()) return true;
  const punctuated = /[=*(),?$%]/.test(text);
  // Sentence case ("Select a file from the list" even parses) is prose unless it carries SQL punctuation.
  if (keyword !== keyword.toLowerCase()) return punctuated;
  return punctuated || parseSql(text) !== undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Source files: string literals, with comments blanked out

interface Literal {
  value: string;
  start: number;
  end: number;
}

/**
 * The string literals of a source file (escapes decoded, `${…}` / f-string `{…}` interpolations as `?`) and the
 * source with comments replaced by spaces (strings kept, offsets unchanged) for the Redis call search.
 */
function scanSource(text: string, language: Exclude<Language, 'sql'>): { literals: Literal[]; code: string } {
  const literals: Literal[] = [];
  const code = text.split('');
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to && k < code.length; k++) if (code[k] !== '\n') code[k] = ' ';
  };
  const lineComment = language === 'python' ? '#' : '//';
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (text.startsWith(lineComment, i)) {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      blank(i, stop);
      i = stop;
      continue;
    }
    if (language !== 'python' && text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      blank(i, stop);
      i = stop;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      const lit = readLiteral(text, i, language);
      if (lit !== undefined) {
        literals.push(lit);
        i = lit.end;
        continue;
      }
    }
    i++;
  }
  return { literals, code: code.join('') };
}

/** Reads the literal starting at the quote at `at`; undefined when the quote opens no literal of this language. */
function readLiteral(text: string, at: number, language: Exclude<Language, 'sql'>): Literal | undefined {
  const quote = text[at] as string;
  let prefix = '';
  if (language === 'python') {
    const m = /(?:^|[^\w])([rRbBuUfF]{1,2})$/.exec(text.slice(Math.max(0, at - 3), at));
    prefix = (m?.[1] ?? '').toLowerCase();
  }
  if (quote === '`' && language !== 'js' && language !== 'go') return undefined;
  const triple = (language === 'python' || language === 'java') && text.startsWith(quote.repeat(3), at);
  const delimiter = triple ? quote.repeat(3) : quote;
  const raw = prefix.includes('r') || (language === 'go' && quote === '`');
  const interpolating = (language === 'js' && quote === '`') || prefix.includes('f');
  let value = '';
  let i = at + delimiter.length;
  while (i < text.length) {
    if (text.startsWith(delimiter, i)) {
      return { value, start: at - prefix.length, end: i + delimiter.length };
    }
    const ch = text[i] as string;
    if (!triple && ch === '\n' && !(language === 'js' && quote === '`') && !(language === 'go' && quote === '`')) {
      return undefined; // an unterminated one-line string: not a literal (e.g. an apostrophe in a comment-less text)
    }
    if (ch === '\\' && !(language === 'go' && quote === '`')) {
      const next = text[i + 1] ?? '';
      value += raw ? `\\${next}` : (ESCAPES[next] ?? next);
      i += 2;
      continue;
    }
    if (interpolating && language === 'js' && text.startsWith('${', i)) {
      i = skipBraces(text, i + 1);
      value += '?';
      continue;
    }
    if (interpolating && language === 'python' && ch === '{') {
      if (text[i + 1] === '{') {
        value += '{';
        i += 2;
        continue;
      }
      i = skipBraces(text, i);
      value += '?';
      continue;
    }
    value += ch;
    i++;
  }
  return undefined;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\n': '' };

/** Index after the `}` matching the `{` at `open`, skipping nested braces and quoted text. */
function skipBraces(text: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '{') depth++;
    else if (ch === '}') {
      depth--;
      if (depth === 0) return i + 1;
    } else if (ch === '"' || ch === "'" || ch === '`') {
      const end = text.indexOf(ch, i + 1);
      if (end !== -1) i = end;
    }
    i++;
  }
  return text.length;
}

/**
 * Joins literals written as one string: adjacent (`"a" "b"`, Python), concatenated (`"a" + "b"`), and with a value
 * in between (`"… id = " + id + " AND …"` → `… id = ? AND …`). A trailing `+ value` adds a `?`.
 */
function joinConcatenated(literals: Literal[], code: string): string[] {
  const out: string[] = [];
  let current: string | undefined;
  for (let k = 0; k < literals.length; k++) {
    const lit = literals[k] as Literal;
    current = (current ?? '') + lit.value;
    const next = literals[k + 1];
    const gap = code.slice(lit.end, next?.start ?? Math.min(code.length, lit.end + 200));
    if (next !== undefined && /^[\s\\]*\+?[\s\\]*$/.test(gap)) continue;
    if (next !== undefined && /^\s*\+\s*[A-Za-z_$][\w$.]*(?:\([^()"'`;]*\))?\s*\+\s*$/.test(gap)) {
      current += '?';
      continue;
    }
    if (/^\s*\+\s*[A-Za-z_$]/.test(gap)) current += '?';
    out.push(current);
    current = undefined;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Redis

const REDIS_READS = [
  'get',
  'mget',
  'getrange',
  'strlen',
  'exists',
  'ttl',
  'pttl',
  'type',
  'keys',
  'scan',
  'hget',
  'hgetall',
  'hmget',
  'hkeys',
  'hvals',
  'hexists',
  'hlen',
  'lrange',
  'lindex',
  'llen',
  'smembers',
  'sismember',
  'scard',
  'zrange',
  'zrevrange',
  'zrangebyscore',
  'zscore',
  'zcard',
  'zrank',
  'xrange',
  'xread',
  'pfcount',
];
const REDIS_WRITES = [
  'set',
  'setex',
  'psetex',
  'setnx',
  'mset',
  'getset',
  'getdel',
  'append',
  'incr',
  'incrby',
  'incrbyfloat',
  'decr',
  'decrby',
  'del',
  'unlink',
  'hset',
  'hmset',
  'hsetnx',
  'hdel',
  'hincrby',
  'lpush',
  'rpush',
  'lpop',
  'rpop',
  'lrem',
  'ltrim',
  'lset',
  'sadd',
  'srem',
  'spop',
  'zadd',
  'zrem',
  'zincrby',
  'zremrangebyscore',
  'expire',
  'pexpire',
  'expireat',
  'persist',
  'xadd',
  'pfadd',
];
const REDIS_READ_SET = new Set(REDIS_READS);
const REDIS_COMMANDS = [...REDIS_READS, ...REDIS_WRITES].sort((a, b) => b.length - a.length);

/** Receivers taken for a Redis client: names containing redis/valkey/jedis, or the usual short ones. */
const REDIS_RECEIVER = /redis|valkey|jedis|lettuce|^(?:r|rc|rdb|rds|kv|cache|pipe|pipeline|multi|tx)$/i;

/** `receiver.command(` (Go: `rdb.Get(ctx, …`), then the first argument when it is a string literal. */
const METHOD_CALL = new RegExp(
  `([A-Za-z_$][\\w$]*)\\s*(?:\\(\\s*\\))?\\s*\\.\\s*(${REDIS_COMMANDS.join('|')})\\s*\\(\\s*` +
    `(?:(?:ctx|context\\.\\w+\\(\\))\\s*,\\s*)?` +
    `(?:([fFrRbB]{0,2})(["'\`])((?:\\\\.|(?!\\4)[^\\\\\\n])*)\\4(\\s*\\+)?)?`,
  'gi',
);
/** `redis.call('GET', 'key')` / `redis.pcall(…)` in Lua scripts. */
const LUA_CALL = /redis\s*\.\s*p?call\s*\(\s*(["'])(\w+)\1\s*(?:,\s*(["'])((?:\\.|(?!\3)[^\\\n])*)\3)?/gi;

/** Redis commands issued in code, each with its key pattern (`?` when the key is not a literal). */
function findRedisCalls(code: string): Occurrence[] {
  const out: Occurrence[] = [];
  const record = (command: string, key: string | undefined): void => {
    const cmd = command.toLowerCase();
    const pattern = key === undefined ? '?' : keyPattern(key);
    const isRead = REDIS_READ_SET.has(cmd);
    const tables = pattern === '?' ? [] : [pattern];
    out.push({
      text: `${cmd.toUpperCase()} ${pattern}`,
      kind: 'redis',
      reads: isRead ? tables : [],
      writes: isRead ? [] : tables,
      touched: [],
    });
  };
  for (const m of code.matchAll(METHOD_CALL)) {
    const [, receiver = '', command = '', , quote, key, concatenated] = m;
    if (!REDIS_RECEIVER.test(receiver)) continue;
    record(command, quote === undefined ? undefined : `${key ?? ''}${concatenated ? '*' : ''}`);
  }
  for (const m of code.matchAll(LUA_CALL)) {
    const [, , command = '', quote, key] = m;
    if (!REDIS_COMMANDS.includes(command.toLowerCase())) continue;
    record(command, quote === undefined ? undefined : key);
  }
  return out;
}

/**
 * A key literal as a pattern: interpolations and format verbs → `*`, then each `:`-separated part that is a
 * number, a UUID or a long hex id → `*` (`user:42` → `user:*`, `session:${id}` → `session:*`).
 */
export function keyPattern(key: string): string {
  const generic = key
    .replace(/\$\{[^}]*\}|\{[^}]*\}|%\(\w+\)s|%[sdvfq]/g, '*')
    .split(':')
    .map((part) =>
      /^\d+$/.test(part) ||
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(part) ||
      /^[0-9a-f]{12,}$/i.test(part)
        ? '*'
        : part,
    )
    .join(':')
    .replace(/\*+/g, '*');
  return generic === '' ? '?' : generic;
}
