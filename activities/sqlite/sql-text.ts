/**
 * Small, careful readers of SQLite DDL text for what PRAGMAs do not tell: index expressions, partial-index
 * WHERE clauses, CHECK constraints, AUTOINCREMENT. They skip string literals, quoted identifiers and nested
 * parentheses. Pure.
 */

/**
 * Calls `visit(i, ch)` for each character of `text` from `from` that is outside quotes (string literals,
 * "identifiers", `backticks`, [brackets]); stops early when `visit` returns true and returns that index.
 */
function scanOutsideQuotes(text: string, from: number, visit: (i: number, ch: string) => boolean | void): number {
  for (let i = from; i < text.length; i++) {
    const ch = text[i] as string;
    const close = closingQuote(ch);
    if (close) {
      i = skipQuoted(text, i, close);
      continue;
    }
    if (visit(i, ch) === true) return i;
  }
  return -1;
}

/** Splits `text` at top-level occurrences of `separator` (outside quotes and parentheses). */
export function splitTopLevel(text: string, separator = ','): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  scanOutsideQuotes(text, 0, (i, ch) => {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && ch === separator) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  });
  parts.push(text.slice(start).trim());
  return parts;
}

/** Index of the parenthesis closing the one at `open`, or -1. */
export function matchParen(text: string, open: number): number {
  let depth = 0;
  return scanOutsideQuotes(text, open, (_i, ch) => {
    if (ch === '(') depth++;
    else if (ch === ')') return --depth === 0;
  });
}

/** The key list and WHERE clause of a CREATE INDEX statement. */
export function parseCreateIndex(sql: string): { keys: string[]; where: string | null } | null {
  const on = findKeyword(sql, 'ON', 0);
  if (on < 0) return null;
  const open = sql.indexOf('(', on);
  const close = open < 0 ? -1 : matchParen(sql, open);
  if (close < 0) return null;
  const rest = sql.slice(close + 1);
  const where = findKeyword(rest, 'WHERE', 0);
  return { keys: splitTopLevel(sql.slice(open + 1, close)), where: where < 0 ? null : rest.slice(where + 5).trim() };
}

/** Strips ` COLLATE x`, ` ASC`/` DESC` from an index key, leaving the column or expression. */
export function indexKeyExpression(key: string): string {
  return key
    .replace(/\s+(ASC|DESC)\s*$/i, '')
    .replace(/\s+COLLATE\s+("[^"]*"|\S+)\s*$/i, '')
    .trim();
}

/** Every CHECK (...) expression in a CREATE TABLE statement. */
export function parseChecks(createTableSql: string): string[] {
  const checks: string[] = [];
  let from = 0;
  for (;;) {
    const at = findKeyword(createTableSql, 'CHECK', from);
    if (at < 0) return checks;
    const open = createTableSql.indexOf('(', at);
    const close = open < 0 ? -1 : matchParen(createTableSql, open);
    if (close < 0) return checks;
    checks.push(createTableSql.slice(open + 1, close).trim());
    from = close + 1;
  }
}

/**
 * The deferral clause of every REFERENCES in a CREATE TABLE statement, in declaration order:
 * `DEFERRABLE INITIALLY DEFERRED`, `DEFERRABLE` (initially immediate) or null (not deferrable).
 */
export function parseForeignKeyDeferral(createTableSql: string): (string | null)[] {
  const open = createTableSql.indexOf('(');
  const close = open < 0 ? -1 : matchParen(createTableSql, open);
  if (close < 0) return [];
  const clauses: (string | null)[] = [];
  for (const part of splitTopLevel(createTableSql.slice(open + 1, close))) {
    const at = findKeyword(part, 'REFERENCES', 0);
    if (at < 0) continue;
    const rest = part.slice(at);
    const deferrable = findKeyword(rest, 'DEFERRABLE', 0);
    if (deferrable < 0 || /\bNOT\s*$/i.test(rest.slice(0, deferrable))) clauses.push(null);
    else
      clauses.push(
        /^DEFERRABLE\s+INITIALLY\s+DEFERRED\b/i.test(rest.slice(deferrable))
          ? 'DEFERRABLE INITIALLY DEFERRED'
          : 'DEFERRABLE',
      );
  }
  return clauses;
}

/** True when the CREATE TABLE text declares AUTOINCREMENT (outside quotes). */
export function hasAutoincrement(createTableSql: string): boolean {
  return findKeyword(createTableSql, 'AUTOINCREMENT', 0) >= 0;
}

/** Position of a whole-word keyword outside quotes, or -1. */
export function findKeyword(text: string, keyword: string, from: number): number {
  const upper = keyword.toUpperCase();
  return scanOutsideQuotes(
    text,
    from,
    (i) =>
      text.slice(i, i + upper.length).toUpperCase() === upper &&
      !isWordChar(text[i - 1]) &&
      !isWordChar(text[i + upper.length]),
  );
}

function closingQuote(ch: string): string | undefined {
  return ch === "'" ? "'" : ch === '"' ? '"' : ch === '`' ? '`' : ch === '[' ? ']' : undefined;
}

function skipQuoted(text: string, open: number, close: string): number {
  for (let i = open + 1; i < text.length; i++) {
    if (text[i] === close) {
      if (close !== ']' && text[i + 1] === close) i++;
      else return i;
    }
  }
  return text.length;
}

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && /[A-Za-z0-9_$]/.test(ch);
}

/**
 * SQLite matches names case-insensitively; PostgreSQL folds bare names to lower case. Rewrites the bare
 * identifiers in `sql` (an index expression, a partial-index predicate, a CHECK, a view body) that name
 * one of `names` — in any case — and that PostgreSQL would not find unquoted (any name that is not plain
 * lower case) to that name, double-quoted with its exact spelling. Function calls (`name(`), words after
 * `AS` (aliases and CAST types), string literals, quoted identifiers and comments are left alone.
 */
export function quoteNames(sql: string, names: readonly string[]): string {
  const byLower = new Map(names.filter((n) => !/^[a-z_][a-z0-9_]*$/.test(n)).map((n) => [n.toLowerCase(), n] as const));
  if (byLower.size === 0) return sql;
  let out = '';
  let copied = 0;
  let previousWord = '';
  for (let i = 0; i < sql.length;) {
    const ch = sql[i] as string;
    const close = closingQuote(ch);
    if (close) {
      i = skipQuoted(sql, i, close) + 1;
      previousWord = '';
      continue;
    }
    if (ch === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
      continue;
    }
    if (ch === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
      continue;
    }
    if (/[A-Za-z_]/.test(ch) && !isWordChar(sql[i - 1])) {
      let j = i;
      while (isWordChar(sql[j])) j++;
      const word = sql.slice(i, j);
      const exact = byLower.get(word.toLowerCase());
      const isCall = /^\s*\(/.test(sql.slice(j, j + 64));
      if (exact !== undefined && !isCall && previousWord.toUpperCase() !== 'AS') {
        out += `${sql.slice(copied, i)}"${exact.replace(/"/g, '""')}"`;
        copied = j;
      }
      previousWord = word;
      i = j;
      continue;
    }
    if (!/\s/.test(ch)) previousWord = '';
    i++;
  }
  return out + sql.slice(copied);
}
