/**
 * The contract of `migrateSqliteToPostgres`: its input (type, defaults and validation), its result, its
 * signals, and the types its activities exchange with it. The workflow, its activities, the CLI and the
 * tests import it from here; it is deterministic code (it runs in the workflow sandbox too).
 */
import { defineSignal } from '@temporalio/workflow';
import { z } from 'zod';
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
  /**
   * Remind the operators (the nightly backup's notification channels) once a wait for `approve`, or inside
   * the rollback window, has lasted this many minutes; unset: no reminder.
   */
  remindAfterMinutes?: number;
  /** Chunks and tables processed at once (default: the worker's CPU count, between 2 and 4). */
  concurrency?: number;
  /**
   * Allow the cutover to replace a target schema that holds objects this run does not migrate (they move
   * aside with the previous schema and are dropped at finalize). Without it such a schema is refused.
   */
  replaceSchema?: boolean;
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

function got(input: unknown): string {
  return input === undefined ? 'nothing' : JSON.stringify(input);
}

// Each message names the field, its rule and what was given.
const text = (field: string, what: string) =>
  z
    .string({ error: (i) => `${field} is required: ${what} (got ${got(i.input)})` })
    .min(1, `${field} is required: ${what}`);
const flag = (field: string) =>
  z.boolean({ error: (i) => `${field} must be true or false (JSON boolean, not a string), got ${got(i.input)}` });
const names = (field: string) =>
  z.array(z.string().min(1), {
    error: (i) => `${field} must be a list of names, e.g. ["users","orders"], got ${got(i.input)}`,
  });
const whole = (field: string, min: number, max?: number) => {
  const what = max === undefined ? `a whole number ≥ ${min}` : `a whole number from ${min} to ${max}`;
  const message = (i: { input?: unknown }) => `${field} must be ${what}, got ${got(i.input)}`;
  const base = z.number({ error: message }).int({ error: message }).min(min, { error: message });
  return max === undefined ? base : base.max(max, { error: message });
};

/** The input's fields and their rules. */
const inputShape = {
  source: text('source', 'a SQLite file path or connection name'),
  target: text('target', 'a PostgreSQL URL without password or connection name'),
  schema: z
    .string({ error: (i) => `schema must be a schema name, got ${got(i.input)}` })
    .superRefine((value, ctx) => {
      const problem = schemaNameProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  tables: names('tables').optional(),
  exclude: names('exclude').optional(),
  rollbackWindowMinutes: whole('rollbackWindowMinutes', 0).optional(),
  requireApproval: flag('requireApproval').optional(),
  remindAfterMinutes: whole('remindAfterMinutes', 1, 10080).optional(),
  strict: flag('strict').optional(),
  chunkRows: whole('chunkRows', 100).optional(),
  concurrency: whole('concurrency', 1, 32).optional(),
  replaceSchema: flag('replaceSchema').optional(),
  ginJsonb: flag('ginJsonb').optional(),
  fullText: names('fullText').optional(),
  sourceTimeZone: z
    .string({ error: (i) => `sourceTimeZone must be an IANA zone name such as "Europe/Paris", got ${got(i.input)}` })
    .min(1, 'sourceTimeZone must be an IANA zone name such as "Europe/Paris"')
    .optional(),
};

/**
 * The input's schema: field types, ranges, and no unknown keys (a typo such as `rollbackWindow` would
 * otherwise be ignored silently). The workflow and the CLI both check it.
 */
export const migrationInputSchema = z.strictObject(inputShape, {
  error: (i) =>
    i.code === 'unrecognized_keys'
      ? `unknown field(s) ${i.keys.map((k) => `"${k}"`).join(', ')}: check the spelling (the fields are ${Object.keys(inputShape).join(', ')})`
      : `the input must be one JSON object such as {"source": "/srv/app.db", "target": "app_pg"}, got ${got(i.input)}`,
});

/**
 * What is wrong with an input, one sentence per problem naming the field and the rule (empty when it is
 * valid). The workflow fails on any; the CLI refuses before starting.
 */
export function migrationInputProblems(input: unknown): string[] {
  const parsed = migrationInputSchema.safeParse(input);
  return parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
}

/** Both sides of one table after verification. */
export interface TableVerification {
  table: string;
  rowsSource: number;
  rowsTarget: number;
  checksumSource: string;
  checksumTarget: string;
  match: boolean;
  /** Why the source side is incomplete, or what differs, when something does. */
  problem?: string;
  /** After a content mismatch: the columns whose values differ (with their target types). */
  differingColumns?: string[];
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
  /**
   * After a rollback inside the rollback window: the schema the migrated data was moved to (it may hold
   * rows the application wrote during the window; dbops never drops it).
   */
  rolledBackSchema?: string;
  /** Signals that arrived when they could not count (an early approve, a rollback after the window…). */
  ignoredSignals: string[];
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
  status: 'completed' | 'rolled_back' | 'rollback_incomplete' | 'failed';
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
  rolledBackSchema?: string;
  ignoredSignals: string[];
}

/** What the index step built, and what it could not (reported, the run goes on). */
export interface BuildOutcome {
  created: string[];
  warnings: string[];
}
