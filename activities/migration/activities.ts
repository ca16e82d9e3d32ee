/** The migration activities: thin shells that resolve connections, heartbeat, and call the step modules. */
import { availableParallelism } from 'node:os';
import { activityInfo, cancellationSignal, heartbeat } from '@temporalio/activity';
import type {
  BuildOutcome,
  ExportOptions,
  MigrationReportData,
  TableVerification,
} from '../../common/contracts/migration';
import type { ChunkPlan, MigrationPlan, TablePlan } from '../../common/contracts/migration-plan';
import { DbopsError, ErrorCode } from '../../common/errors';
import type { SchemaNames } from '../../common/schema-names';
import { classifyDriverError } from '../connections/classify-error';
import { resolveTarget } from '../connections/resolve';
import type { ActivityDeps } from '../deps';
import { withFailureMapping } from '../failures';
import { keepAlive } from '../keep-alive';
import { runArtifactDir } from '../files/artifact-paths';
import { sha256File } from '../files/sha256';
import { dropSchema } from '../postgres/schemas';
import { timeZoneProblem } from '../sqlite/timestamps';
import { backupSource, type SourceBackup } from './backup-source';
import { buildSchemaObjects, buildTableObjects } from './build-indexes';
import { createStaging } from './create-staging';
import { cutover, revertCutover } from './cutover';
import { importChunk } from './import-chunk';
import { writeReports } from './report';
import { exportInThreads } from './source-thread';
import { verifyTable } from './verify-table';

/** Builds the migration activities around the worker's shared dependencies. */
export function createMigrationActivities({ config, connections }: ActivityDeps) {
  const postgres = (ref: string) => {
    const target = resolveTarget(ref, config);
    if (target.engine !== 'postgres')
      throw new DbopsError(
        ErrorCode.BadInput,
        `target ${target.label} is a ${target.engine} connection: the migration target must be PostgreSQL`,
      );
    return { pool: connections.postgres(target), target };
  };
  const runDir = (): string =>
    runArtifactDir(
      config.artifactDir,
      'migrations',
      activityInfo().workflowExecution?.workflowId ?? 'unknown-workflow',
    );

  return {
    /** Resolves the source to an absolute path and checks the target is reachable (fails fast on bad input). */
    async migrationResolve(input: {
      source: string;
      target: string;
      sourceTimeZone?: string;
    }): Promise<{ sourcePath: string; targetLabel: string }> {
      return withFailureMapping('migrationResolve', async () => {
        const zoneProblem = input.sourceTimeZone === undefined ? null : timeZoneProblem(input.sourceTimeZone);
        if (zoneProblem) throw new DbopsError(ErrorCode.BadInput, `sourceTimeZone: ${zoneProblem}`);
        const source = resolveTarget(input.source, config);
        if (source.engine !== 'sqlite' || !source.path)
          throw new DbopsError(
            ErrorCode.BadInput,
            `source ${source.label} is a ${source.engine} connection: the source must be a SQLite file`,
          );
        const { pool, target } = postgres(input.target);
        // Name the target in the error (the activity name would tell the operator nothing).
        await pool.query('SELECT 1').catch((err: unknown) => {
          throw classifyDriverError(err, `target ${target.label}`) ?? err;
        });
        return { sourcePath: source.path, targetLabel: target.label };
      });
    },

    /** Online backup of the SQLite file (+ sha256) and a pg_dump of the target schema if it exists. */
    async migrationBackup(input: { sourcePath: string; target: string; schema: string }): Promise<SourceBackup> {
      return withFailureMapping('migrationBackup', () =>
        keepAlive({ step: 'backup' }, () => {
          const { pool, target } = postgres(input.target);
          return backupSource(
            input.sourcePath,
            { pool, url: target.url ?? '', password: target.password },
            input.schema,
            runDir(),
          );
        }),
      );
    },

    /** Discovery, profiling and the plan, read from the backup copy. */
    async migrationExport(input: { backupPath: string; options: ExportOptions }): Promise<MigrationPlan> {
      return withFailureMapping('migrationExport', () =>
        keepAlive({ step: 'export' }, async () => ({
          ...(await exportInThreads(
            input.backupPath,
            input.options,
            Math.min(4, availableParallelism()),
            (table, done, total) => heartbeat({ step: 'export', table, done, total }),
            cancellationSignal(),
          )),
          hostParallelism: availableParallelism(),
        })),
      );
    },

    /** Creates the staging schema and its tables (refusing a concurrent migration into the same schema). */
    async migrationPrepare(input: {
      target: string;
      names: SchemaNames;
      plan: MigrationPlan;
      replaceSchema?: boolean;
    }): Promise<{ created: boolean }> {
      return withFailureMapping('migrationPrepare', () =>
        createStaging(
          postgres(input.target).pool,
          input.names,
          input.plan,
          activityInfo().workflowExecution?.runId ?? 'unknown',
          input.replaceSchema ?? false,
        ),
      );
    },

    /** Copies one chunk (idempotent through the ledger), heartbeating rows done. */
    async migrationImportChunk(input: {
      target: string;
      staging: string;
      backupPath: string;
      table: TablePlan;
      chunk: ChunkPlan;
    }): Promise<{ rows: number; skipped: boolean }> {
      return withFailureMapping(`migrationImportChunk ${input.table.name}#${input.chunk.index}`, () =>
        keepAlive({ table: input.table.name, chunk: input.chunk.index }, () =>
          importChunk(
            postgres(input.target).pool,
            input.staging,
            input.backupPath,
            input.table,
            input.chunk,
            (rowsDone) =>
              heartbeat({
                table: input.table.name,
                chunk: input.chunk.index,
                rowsDone,
                rowsTotal: input.table.rowCount,
              }),
            cancellationSignal(),
          ),
        ),
      );
    },

    /** Keys, indexes, checks, trigger, sequence of one table. */
    async migrationBuildTable(input: { target: string; staging: string; table: TablePlan }): Promise<BuildOutcome> {
      return withFailureMapping(`migrationBuildTable ${input.table.name}`, () =>
        keepAlive({ step: 'index', table: input.table.name }, () =>
          buildTableObjects(postgres(input.target).pool, input.staging, input.table),
        ),
      );
    },

    /** Foreign keys and views. */
    async migrationBuildSchema(input: { target: string; staging: string; plan: MigrationPlan }): Promise<BuildOutcome> {
      return withFailureMapping('migrationBuildSchema', () =>
        keepAlive({ step: 'foreign keys and views' }, () =>
          buildSchemaObjects(postgres(input.target).pool, input.staging, input.plan),
        ),
      );
    },

    /** Row count and content checksum of one table on both sides. */
    async migrationVerifyTable(input: {
      target: string;
      staging: string;
      backupPath: string;
      table: TablePlan;
    }): Promise<TableVerification> {
      return withFailureMapping(`migrationVerifyTable ${input.table.name}`, () =>
        keepAlive({ step: 'verify', table: input.table.name }, () =>
          verifyTable(postgres(input.target).pool, input.staging, input.backupPath, input.table, cancellationSignal()),
        ),
      );
    },

    /** Renames the old schema aside and staging into place, in one transaction. */
    async migrationCutover(input: { target: string; names: SchemaNames }): Promise<{ previousSchema: boolean }> {
      return withFailureMapping('migrationCutover', () => cutover(postgres(input.target).pool, input.names));
    },

    /** Compensation after cutover: move the migrated schema aside (kept), rename the previous one back. */
    async migrationRevertCutover(input: {
      target: string;
      names: SchemaNames;
      previousSchema: boolean;
    }): Promise<{ keptAs: string }> {
      return withFailureMapping('migrationRevertCutover', () =>
        revertCutover(postgres(input.target).pool, input.names, input.previousSchema),
      );
    },

    /** Drops a schema (staging on rollback, the previous schema on finalize). */
    async migrationDropSchema(input: { target: string; schema: string }): Promise<void> {
      return withFailureMapping('migrationDropSchema', () => dropSchema(postgres(input.target).pool, input.schema));
    },

    /** sha256 of the source file (the run ends by proving it unchanged). */
    async migrationSourceChecksum(input: { sourcePath: string }): Promise<string> {
      return withFailureMapping('migrationSourceChecksum', () => sha256File(input.sourcePath));
    },

    /** Writes MIGRATION_REPORT.md and migration-report.json into the run's artifact folder. */
    async migrationWriteReport(input: { report: MigrationReportData }): Promise<{ markdown: string; json: string }> {
      return withFailureMapping('migrationWriteReport', async () => writeReports(runDir(), input.report));
    },
  };
}
