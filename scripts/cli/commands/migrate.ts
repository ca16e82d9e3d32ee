/** `dbops migrate`: starts `migrateSqliteToPostgres` (see workflows/migration.ts for the phases). */
import type { Command } from 'commander';
import {
  MIGRATION_WORKFLOW,
  migrationInputProblems,
  type MigrationInput,
  type MigrationResult,
} from '../../../common/contracts/migration';
import { DbopsError, ErrorCode } from '../../../common/errors';
import type { CliContext, CommandRunner } from '../context';
import { ExitCode, warn } from '../output';
import { startWorkflow, withStartFlags, type StartFlags } from '../start-workflow';

interface MigrateFlags extends StartFlags {
  source: string;
  target: string;
  schema: string;
  tables?: string;
  exclude?: string;
  rollbackWindow: string;
  requireApproval?: boolean;
  remindAfter?: string;
  replaceSchema?: boolean;
  strict?: boolean;
  chunkRows?: string;
  ginJsonb?: boolean;
  fullText?: string;
  sourceTimeZone?: string;
}

const list = (value: string | undefined): string[] | undefined =>
  value === undefined
    ? undefined
    : value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

/** Registers the command. */
export function registerMigrate(program: Command, ctx: CliContext, run: CommandRunner): void {
  withStartFlags(
    program
      .command('migrate')
      .description('migrate a SQLite database into a PostgreSQL schema (staging schema, verify, rename cutover)')
      .requiredOption(
        '--source <source>',
        'SQLite file path (on the worker host), sqlite:///abs/path, or connection name',
      )
      .requiredOption('--target <target>', 'PostgreSQL URL without password, or connection name')
      .option('--schema <name>', 'target schema', 'public')
      .option('--tables <a,b>', 'only these tables')
      .option('--exclude <c,d>', 'all tables but these')
      .option(
        '--rollback-window <minutes>',
        'keep the previous schema this long for rollback; 0 = finalize at once',
        '60',
      )
      .option('--require-approval', 'wait for the approve signal before cutover')
      .option(
        '--remind-after <minutes>',
        'alert the operators (the backup notification channels) once a wait for approve, or the rollback window, lasts this long',
      )
      .option(
        '--replace-schema',
        'replace the whole target schema even when it holds objects this run does not migrate (moved aside, dropped at finalize)',
      )
      .option('--strict', 'fail (before touching the target) instead of keeping a column in a lossless wider type')
      .option('--chunk-rows <n>', 'rows per import chunk (default 50000)')
      .option('--gin-jsonb', 'also build a GIN index on every jsonb column')
      .option(
        '--full-text <t.c,…>',
        "also build GIN full-text indexes (to_tsvector('simple', …)) on these text columns",
      )
      .option(
        '--source-time-zone <zone>',
        'IANA zone that timestamps without an offset were written in, e.g. Europe/Paris (default UTC)',
      ),
  ).action((flags: MigrateFlags) =>
    run(async () => {
      const window = Number(flags.rollbackWindow);
      if (!Number.isInteger(window) || window < 0) {
        warn(`--rollback-window must be a whole number of minutes ≥ 0, got "${flags.rollbackWindow}"`);
        return ExitCode.Usage;
      }
      const input: MigrationInput = {
        source: flags.source,
        target: flags.target,
        schema: flags.schema,
        rollbackWindowMinutes: window,
        ...(flags.tables !== undefined ? { tables: list(flags.tables) } : {}),
        ...(flags.exclude !== undefined ? { exclude: list(flags.exclude) } : {}),
        ...(flags.requireApproval ? { requireApproval: true } : {}),
        ...(flags.remindAfter !== undefined ? { remindAfterMinutes: Number(flags.remindAfter) } : {}),
        ...(flags.replaceSchema ? { replaceSchema: true } : {}),
        ...(flags.strict ? { strict: true } : {}),
        ...(flags.chunkRows !== undefined ? { chunkRows: Number(flags.chunkRows) } : {}),
        ...(flags.ginJsonb ? { ginJsonb: true } : {}),
        ...(flags.fullText !== undefined ? { fullText: list(flags.fullText) } : {}),
        ...(flags.sourceTimeZone !== undefined ? { sourceTimeZone: flags.sourceTimeZone } : {}),
      };
      // The workflow checks the same rules (a start from the Web UI skips the CLI); refusing here saves a run.
      const problems = migrationInputProblems(input);
      if (problems.length > 0)
        throw new DbopsError(ErrorCode.BadInput, `refused before starting: ${problems.join('; ')}`);
      return startWorkflow<MigrationInput, MigrationResult>(ctx, flags, {
        workflowType: MIGRATION_WORKFLOW,
        idPrefix: `migrate-${flags.schema}`,
        summary: `migrate ${input.source} → ${input.target} (${input.schema ?? 'public'})`,
        input,
        render: (result) => [
          `${result.status}: schema ${result.schema}`,
          ...result.tables.map(
            (t) =>
              `  ${t.match ? 'ok ' : 'BAD'} ${t.name.padEnd(20)} ${String(t.rowsTarget).padStart(9)} rows  checksum ${t.checksumTarget}`,
          ),
          ...result.warnings.map((w) => `  warning: ${w}`),
          ...result.notMigrated.map((n) => `  not migrated: ${n.kind} ${n.name} (${n.why})`),
          `  report: ${result.reports.markdown}`,
        ],
      });
    }),
  );
}
