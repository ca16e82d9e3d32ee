/** Target, staging and previous-schema names of a migration run, and the rule a target schema name obeys. Pure. */

/** The names one run uses. */
export interface SchemaNames {
  target: string;
  staging: string;
  old: string;
  /** Where a rollback after the cutover moves the migrated schema (kept, never dropped). */
  rolledBack?: string;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,40}$/;

/** Why a target schema name is refused, or undefined when it is fine. */
export function schemaNameProblem(schema: string): string | undefined {
  if (!SCHEMA_NAME.test(schema)) {
    return `invalid schema name "${schema}": use 1-41 lower-case letters, digits or "_", starting with a letter or "_" (dbops appends a suffix for its staging schema)`;
  }
  if (schema.startsWith('pg_') || schema === 'information_schema')
    return `invalid schema name "${schema}": it is reserved by PostgreSQL`;
  if (schema.includes('__dbops_'))
    return `invalid schema name "${schema}": "__dbops_" is reserved for dbops' own staging schemas`;
  return undefined;
}

/** Names for a run; `runKey` is a short, unique id of the run (8 hex characters of the run id). */
export function schemaNames(schema: string, runKey: string): SchemaNames {
  return {
    target: schema,
    staging: `${schema}__dbops_stage_${runKey}`,
    old: `${schema}__dbops_old_${runKey}`,
    // 63 bytes at most: a long schema name is shortened (the run key keeps the name unique).
    rolledBack: `${schema.slice(0, 63 - '__dbops_rolled_back_'.length - runKey.length)}__dbops_rolled_back_${runKey}`,
  };
}

/** The schema a post-cutover rollback moves the migrated schema to (older runs' names lack it). */
export function rolledBackName(names: SchemaNames): string {
  return names.rolledBack ?? schemaNames(names.target, names.staging.slice(-8)).rolledBack ?? '';
}

/** LIKE patterns that find any run's staging or previous schemas of a target. */
export function otherRunPatterns(schema: string): string[] {
  const escaped = schema.replace(/_/g, '\\_');
  return [`${escaped}\\_\\_dbops\\_stage\\_%`, `${escaped}\\_\\_dbops\\_old\\_%`];
}
