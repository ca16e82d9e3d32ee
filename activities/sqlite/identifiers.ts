/** SQLite identifiers: quoting. Pure. */

/** A SQLite identifier in double quotes. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
