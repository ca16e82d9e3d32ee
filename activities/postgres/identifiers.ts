/** PostgreSQL identifiers: quoting, and the 63-byte limit (NAMEDATALEN - 1). Pure. */
import { createHash } from 'node:crypto';

const MAX_BYTES = 63;

/** A double-quoted identifier. */
export function qi(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"schema"."name"`. */
export function qualified(schema: string, name: string): string {
  return `${qi(schema)}.${qi(name)}`;
}

/** A string literal. */
export function ql(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** `name` if it fits 63 bytes, else a prefix plus an 8-hex hash so that distinct long names stay distinct. */
export function fitName(name: string): string {
  if (Buffer.byteLength(name) <= MAX_BYTES) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  let prefix = name;
  while (Buffer.byteLength(`${prefix}_${hash}`) > MAX_BYTES) prefix = prefix.slice(0, -1);
  return `${prefix}_${hash}`;
}
