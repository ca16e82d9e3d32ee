/** SQLite DEFAULT expressions → PostgreSQL, by target kind; what cannot be translated is reported. Pure. */
import type { TargetKind } from '../../common/contracts/migration-plan';
import { ql } from '../postgres/identifiers';
import { formatUtcMicros, parseTimestamp } from '../sqlite/timestamps';

/** The PostgreSQL default, or null with a warning when the SQLite one has no faithful translation. */
export function translateDefault(
  sqliteDefault: string | null,
  kind: TargetKind,
  timeZone?: string,
): { sql: string | null; warning?: string } {
  if (sqliteDefault === null) return { sql: null };
  let expr = sqliteDefault.trim();
  while (expr.startsWith('(') && expr.endsWith(')')) expr = expr.slice(1, -1).trim();
  const upper = expr.toUpperCase().replace(/\s+/g, '');
  if (upper === 'NULL') return { sql: null };

  const textNow = "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')";
  if (upper === 'CURRENT_TIMESTAMP' || /^DATETIME\('NOW'(,'UTC')?\)$/.test(upper)) {
    return {
      sql: kind === 'timestamptz' ? 'now()' : kind === 'text' ? textNow : null,
      ...unsupported(expr, kind, ['timestamptz', 'text']),
    };
  }
  if (upper === 'CURRENT_DATE' || upper === "DATE('NOW')") {
    return {
      sql:
        kind === 'date' || kind === 'timestamptz'
          ? 'current_date'
          : kind === 'text'
            ? "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
            : null,
      ...unsupported(expr, kind, ['date', 'timestamptz', 'text']),
    };
  }
  if (upper === 'CURRENT_TIME' || upper === "TIME('NOW')") {
    return {
      sql: kind === 'text' ? "to_char(now() AT TIME ZONE 'UTC', 'HH24:MI:SS')" : null,
      ...unsupported(expr, kind, ['text']),
    };
  }

  // TRUE and FALSE are SQLite keywords for 1 and 0 (3.23+).
  const keyword = upper === 'TRUE' ? '1' : upper === 'FALSE' ? '0' : undefined;
  const number = keyword ?? (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(expr) ? expr : undefined);
  const literal = /^'((?:[^']|'')*)'$/.exec(expr)?.[1]?.replace(/''/g, "'") ?? /^"((?:[^"]|"")*)"$/.exec(expr)?.[1];
  const value = number ?? literal;
  if (value === undefined)
    return {
      sql: null,
      warning: `default ${sqliteDefault} has no PostgreSQL translation; the column is created without a default`,
    };

  switch (kind) {
    case 'boolean':
      if (/^(1|t|true)$/i.test(value)) return { sql: 'true' };
      if (/^(0|f|false)$/i.test(value)) return { sql: 'false' };
      break;
    case 'bigint':
      if (/^[+-]?\d+$/.test(value.trim())) return { sql: value.trim() };
      break;
    case 'double':
    case 'numeric':
      if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(value.trim())) return { sql: value.trim() };
      break;
    case 'timestamptz': {
      // As an exact UTC instant: the session's TimeZone at CREATE TABLE must not decide what it means.
      const ts = parseTimestamp(value, timeZone);
      if (ts) return { sql: `${ql(formatUtcMicros(ts.epochMicros))}::timestamptz` };
      break;
    }
    case 'jsonb':
      try {
        JSON.parse(value);
        return { sql: `${ql(value)}::jsonb` };
      } catch {
        break;
      }
    case 'bytea':
      break;
    default:
      return { sql: ql(value) };
  }
  return {
    sql: null,
    warning: `default ${sqliteDefault} does not fit type ${kind}; the column is created without a default`,
  };
}

function unsupported(expr: string, kind: TargetKind, allowed: TargetKind[]): { warning?: string } {
  return allowed.includes(kind)
    ? {}
    : { warning: `default ${expr} does not fit type ${kind}; the column is created without a default` };
}
