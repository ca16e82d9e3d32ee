/** What a migration run hands back: the result object and the report's data, from what the run gathered. Pure. */
import type { MigrationReportData, MigrationResult, TableVerification } from '../common/contracts/migration';
import type { MigrationPlan } from '../common/contracts/migration-plan';
import { rolledBackName, type SchemaNames } from '../common/schema-names';

/** What the workflow has gathered so far (filled in as the steps complete). */
export interface MigrationFacts {
  workflowId: string;
  schema: string;
  rollbackWindowMinutes: number;
  source: string;
  target: string;
  sha256Before: string;
  backupPath: string;
  plan: MigrationPlan | null;
  verification: TableVerification[];
  warnings: string[];
  timingsMs: Record<string, number>;
  rollbackReason?: string;
  /** Where a rollback after the cutover kept the migrated schema. */
  keptAs?: string;
  /** Signals that arrived when they could not count. */
  ignoredSignals?: string[];
}

/** The facts of a run that has not started its steps yet. */
export function newFacts(
  workflowId: string,
  schema: string,
  rollbackWindowMinutes: number,
  input: { source: string; target: string },
  timingsMs: Record<string, number>,
): MigrationFacts {
  return {
    workflowId,
    schema,
    rollbackWindowMinutes,
    source: input.source,
    target: input.target,
    sha256Before: '',
    backupPath: '',
    plan: null,
    verification: [],
    warnings: [],
    timingsMs,
  };
}

/** Why verification failed, per table, or undefined when every table matches. */
export function mismatchMessage(verification: readonly TableVerification[]): string | undefined {
  const mismatched = verification.filter((v) => !v.match);
  if (mismatched.length === 0) return undefined;
  return `verification failed: ${mismatched
    .map(
      (v) =>
        `${v.table} source ${v.checksumSource} (${v.rowsSource} rows) ≠ target ${v.checksumTarget} (${v.rowsTarget} rows)${v.problem ? `: ${v.problem}` : ''}`,
    )
    .join('; ')}`;
}

/** The data of MIGRATION_REPORT.md for a run that ended with `status`. */
export function reportData(
  facts: MigrationFacts,
  status: MigrationReportData['status'],
  sha256After: string | null,
  error: MigrationReportData['error'],
): MigrationReportData {
  return {
    workflowId: facts.workflowId,
    status,
    source: facts.source,
    target: facts.target,
    schema: facts.schema,
    sourceSha256Before: facts.sha256Before || null,
    sourceSha256After: sha256After,
    plan: facts.plan,
    verification: facts.verification,
    warnings: facts.warnings,
    timingsMs: facts.timingsMs,
    error,
    rollback: rollbackHowTo(status, facts.rollbackWindowMinutes, facts.workflowId),
    ...(facts.keptAs ? { rolledBackSchema: facts.keptAs } : {}),
    ignoredSignals: facts.ignoredSignals ?? [],
  };
}

/** The workflow's result. */
export function migrationResult(
  facts: MigrationFacts,
  status: MigrationResult['status'],
  sha256After: string,
  reports: { markdown: string; json: string },
): MigrationResult {
  const plan = facts.plan;
  return {
    status,
    schema: facts.schema,
    tables: facts.verification.map((v) => {
      const table = plan?.tables.find((t) => t.name === v.table);
      return {
        name: v.table,
        ...v,
        columns: (table?.columns ?? []).map((c) => ({
          name: c.name,
          sourceType: c.sourceType,
          targetType: c.targetType,
          reason: c.reason,
        })),
        indexes: (table?.indexes ?? []).map((ix) => ix.name),
      };
    }),
    warnings: facts.warnings,
    notMigrated: plan?.notMigrated ?? [],
    timingsMs: facts.timingsMs,
    source: { path: facts.source, sha256Before: facts.sha256Before, sha256After, backup: facts.backupPath },
    reports,
    ...(facts.rollbackReason ? { rollbackReason: facts.rollbackReason } : {}),
    ...(facts.keptAs ? { rolledBackSchema: facts.keptAs } : {}),
    ignoredSignals: facts.ignoredSignals ?? [],
  };
}

/** The SQL an operator runs to finish a post-cutover rollback that could not complete. */
export function revertCutoverSql(names: SchemaNames, previousSchema: boolean): string {
  // Schema names are validated to [a-z0-9_], so double quotes need no escaping here.
  return [
    'BEGIN;',
    `ALTER SCHEMA "${names.target}" RENAME TO "${rolledBackName(names)}";`,
    ...(previousSchema ? [`ALTER SCHEMA "${names.old}" RENAME TO "${names.target}";`] : []),
    'COMMIT;',
  ].join(' ');
}

function rollbackHowTo(status: string, window: number, workflowId: string): string {
  if (status === 'rollback_incomplete') return 'finish the rollback by hand: see the error and warnings';
  if (status !== 'completed') return 'nothing to do: the target is as it was before the run';
  return window > 0
    ? `within ${window} minute(s) of the cutover: npx dbops signal ${workflowId} rollback; afterwards restore the target-<schema>.dump of this run with pg_restore`
    : 'finalized at once (rollback window 0): restore the target-<schema>.dump of this run with pg_restore';
}

/** What is left to do by hand when a step after the rollback window failed (nothing was undone). */
export function finalizeLeftToDo(
  facts: MigrationFacts,
  names: SchemaNames,
  previousSchemaLeft: boolean,
  sourceUnchecked: boolean,
): string {
  const left = [
    ...(previousSchemaLeft
      ? [`drop the previous schema when you no longer need it: DROP SCHEMA "${names.old}" CASCADE;`]
      : []),
    ...(sourceUnchecked
      ? [`check that the source ${facts.source} is unchanged (sha256 before the run: ${facts.sha256Before})`]
      : []),
  ];
  return left.join(' ') || 'nothing';
}
