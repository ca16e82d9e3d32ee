/**
 * The contract of `migrateSqliteToPostgres`: its input (type, defaults and validation), its result, its
 * signals, and the types its activities exchange with it. The workflow, its activities, the CLI and the
 * tests import it from here; it is deterministic code (it runs in the workflow sandbox too).
 */
import { defineSignal } from '@temporalio/workflow';
import { schemaNameProblem } from '../schema-names';
import type { MigrationPlan, NotMigrated } from './migration-plan';

/** The workflow type, as operators type it in the Web UI's Start Workflow form. */
export const MIGRATION_WORKFLOW = 'migrateSqliteToPostgres';

/** Options that shape what is exported and how (the input carries them; export and the plan read them). */
export interface MigrationOptions {
  /** Only these tables. */
  tables?: string[];
  /** All tables but these. */
  exclude?: string[];
  /** Fail before touching the target instead of widening a column to a lossless type. */
  strict?: boolean;
  /** Rows per import chunk (default 50,000). */
  chunkRows?: number;
  /** Seed extra: a GIN index on every jsonb column. */
  ginJsonb?: boolean;
  /** Seed extra: GIN full-text indexes (`to_tsvector('simple', …)`) on these `table.column` text columns. */
  fullText?: string[];
  /** IANA time zone that timestamps without an offset were written in (default UTC), e.g. `Europe/Paris`. */
  sourceTimeZone?: string;
}

/** Input of the migration: one JSON object (the Web UI's Start Workflow form sends it as is). */
export interface MigrationInput extends MigrationOptions {
  /** SQLite file path (on the worker's host), `sqlite:///abs/path`, or a connection name. */
  source: string;
  /** PostgreSQL URL without password, or a connection name. */
  target: string;
  /** Target schema (default `public`). */
  schema?: string;
  /** Keep the previous schema this long for rollback; 0 finalizes at once (default 60). */
  rollbackWindowMinutes?: number;
  requireApproval?: boolean;
  /** Chunks and tables processed at once (default: the worker's CPU count, between 2 and 4). */
  concurrency?: number;
}

/** Defaults of the optional input fields. */
export const MIGRATION_DEFAULTS = {
  schema: 'public',
  rollbackWindowMinutes: 60,
  chunkRows: 50_000,
} as const;

/** The options as the export step receives them: defaults applied. */
export type ExportOptions = Omit<MigrationOptions, 'strict' | 'chunkRows'> & { strict: boolean; chunkRows: number };

/** Export options from the input, defaults applied. */
export function exportOptions(input: MigrationInput): ExportOptions {
  return {
    tables: input.tables,
    exclude: input.exclude,
    strict: input.strict ?? false,
    chunkRows: input.chunkRows ?? MIGRATION_DEFAULTS.chunkRows,
    ginJsonb: input.ginJsonb ?? false,
    fullText: input.fullText ?? [],
    sourceTimeZone: input.sourceTimeZone,
  };
}

/**
 * What is wrong with an input, one sentence per problem naming the field and the rule (empty when it is
 * valid). The workflow fails on any; the CLI refuses before starting.
 */
export function migrationInputProblems(input: MigrationInput): string[] {
  const schema = input.schema ?? MIGRATION_DEFAULTS.schema;
  const window = input.rollbackWindowMinutes ?? MIGRATION_DEFAULTS.rollbackWindowMinutes;
  return [
    schemaNameProblem(schema),
    typeof input.source !== 'string' || input.source === ''
      ? 'source is required: a SQLite file path or connection name'
      : undefined,
    typeof input.target !== 'string' || input.target === ''
      ? 'target is required: a PostgreSQL URL without password or connection name'
      : undefined,
    !Number.isInteger(window) || window < 0
      ? `rollbackWindowMinutes must be a whole number ≥ 0, got ${String(input.rollbackWindowMinutes)}`
      : undefined,
    input.chunkRows !== undefined && (!Number.isInteger(input.chunkRows) || input.chunkRows < 100)
      ? `chunkRows must be a whole number ≥ 100, got ${String(input.chunkRows)}`
      : undefined,
    input.concurrency !== undefined &&
    (!Number.isInteger(input.concurrency) || input.concurrency < 1 || input.concurrency > 32)
      ? `concurrency must be a whole number from 1 to 32, got ${String(input.concurrency)}`
      : undefined,
  ].filter((p): p is string => p !== undefined);
}

/** Both sides of one table after verification. */
export interface TableVerification {
  table: string;
  rowsSource: number;
  rowsTarget: number;
  checksumSource: string;
  checksumTarget: string;
  match: boolean;
  /** Why the source side is incomplete, when it is. */
  problem?: string;
}

/** One table in the result. */
export interface MigrationTableResult extends TableVerification {
  name: string;
  columns: { name: string; sourceType: string; targetType: string; reason: string }[];
  indexes: string[];
}

/** The result: also what `dbops migrate --wait --json` prints. */
export interface MigrationResult {
  status: 'completed' | 'rolled_back';
  schema: string;
  tables: MigrationTableResult[];
  warnings: string[];
  notMigrated: NotMigrated[];
  timingsMs: Record<string, number>;
  source: { path: string; sha256Before: string; sha256After: string; backup: string };
  reports: { markdown: string; json: string };
  rollbackReason?: string;
}

/** Argument of the `rollback` signal. */
export interface RollbackRequest {
  reason?: string;
}

/** Undo the migration (any phase before the rollback window closes). */
export const rollbackSignal = defineSignal<[RollbackRequest?]>('rollback');
/** Allow the cutover (with `requireApproval`). */
export const approveSignal = defineSignal('approve');
/** End the rollback window now. */
export const finalizeSignal = defineSignal('finalize');

/** Everything MIGRATION_REPORT.md and its JSON twin show (the workflow's result without the report paths). */
export interface MigrationReportData {
  workflowId: string;
  status: 'completed' | 'rolled_back' | 'failed';
  source: string;
  target: string;
  schema: string;
  sourceSha256Before: string | null;
  sourceSha256After: string | null;
  plan: MigrationPlan | null;
  verification: TableVerification[];
  warnings: string[];
  timingsMs: Record<string, number>;
  error: { type: string; message: string } | null;
  rollback: string;
}

/** What the index step built, and what it could not (reported, the run goes on). */
export interface BuildOutcome {
  created: string[];
  warnings: string[];
}
