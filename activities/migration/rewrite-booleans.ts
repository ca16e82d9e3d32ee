/**
 * SQLite spells booleans 0/1, so view bodies and partial-index predicates compare `flag = 1`; PostgreSQL
 * has no boolean = integer operator. For columns migrated to boolean, rewrite the plain comparisons
 * (`col = 1`, `col <> 0`, `col != 0`, `col IS 1`) to boolean literals. Anything subtler is left alone and
 * fails loudly where it is used. Pure.
 */

/** Rewrites comparisons of the given boolean columns with 0/1. */
export function rewriteBooleanComparisons(sql: string, booleanColumns: readonly string[]): string {
  let out = sql;
  for (const column of booleanColumns) {
    const name = column.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const ref = `((?:"${name}"|\\b${name}\\b))`;
    out = out
      .replace(new RegExp(`${ref}\\s*(=|==|IS)\\s*1\\b`, 'gi'), '$1 = true')
      .replace(new RegExp(`${ref}\\s*(=|==|IS)\\s*0\\b`, 'gi'), '$1 = false')
      .replace(new RegExp(`${ref}\\s*(!=|<>|IS NOT)\\s*0\\b`, 'gi'), '$1 = true')
      .replace(new RegExp(`${ref}\\s*(!=|<>|IS NOT)\\s*1\\b`, 'gi'), '$1 = false');
  }
  return out;
}
