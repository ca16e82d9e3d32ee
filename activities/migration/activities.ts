/** The migration activities: thin shells that resolve connections, heartbeat, and call the step modules. */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
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
import { ObjectCache } from '../s3/cache';
import { createS3Client } from '../s3/client';
import { timeZoneProblem } from '../sqlite/timestamps';
import { backupSource, type SourceBackup } from './backup-source';
import { buildSchemaObjects, buildTableObjects } from './build-indexes';
import { createStaging } from './create-staging';
import { cutover, revertCutover } from './cutover';
import { importChunk } from './import-chunk';
import { writeReports } from './report';
import { exportInThreads } from './source-thread';
import { hostQueueOf, localSource, stageSource, stagedKeyOf, type StagedSource, unstageSource } from './source-staging';
import { verifyTable } from './verify-table';

/** Where a worker caches the source backups other hosts staged (pruned at worker start: workers/create-worker.ts). */
export function sourceCacheDir(config: ActivityDeps['config']): string {
  return join(config.worker.cacheDir, 'sqlite');
}

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
  const hostId = config.worker.hostId;
  let s3client: ReturnType<typeof createS3Client> | undefined;
  const s3 = () => (s3client ??= createS3Client(config.s3));
  // One cache per worker process: its activities share downloads (single flight).
  const cache = new ObjectCache(sourceCacheDir(config), s3, config.s3.bucket);
  const workflowId = () => activityInfo().workflowExecution?.workflowId ?? 'unknown-workflow';
  const runDir = (): string => runArtifactDir(config.artifactDir, 'migrations', workflowId());

  return {
    /**
     * Resolves the source to an absolute path and checks the target is reachable (fails fast on bad input).
     * Also names this worker's host and its host task queue: the steps that read the source or the files
     * made from it run there (docs/architecture.md, "Scale out").
     */
    async migrationResolve(input: {
      source: string;
      target: string;
      sourceTimeZone?: string;
    }): Promise<{ sourcePath: string; targetLabel: string; hostId: string; hostQueue: string }> {
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
        return {
          sourcePath: source.path,
          targetLabel: target.label,
          hostId,
          hostQueue: hostQueueOf(activityInfo().taskQueue, hostId),
        };
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

    /**
     * Stages the source backup in the object store (`staging/sqlite/<sha256>.db`, skipped when there) so
     * workers on other hosts can read it. Not staged when `worker.stageSources` is off, or when the store
     * fails (then with a warning): the steps that read the backup then stay on this host.
     */
    async migrationStageSource(input: {
      backupPath: string;
      sha256: string;
    }): Promise<{ source: StagedSource; uploaded: boolean; warning?: string }> {
      return withFailureMapping('migrationStageSource', () =>
        keepAlive({ step: 'stage source' }, async () => {
          const local = { backupPath: input.backupPath, sha256: input.sha256, hostId, stagedKey: null };
          if (!config.worker.stageSources) return { source: local, uploaded: false };
          try {
            const staged = await stageSource(s3(), config.s3.bucket, input.backupPath, input.sha256, workflowId());
            return { source: { ...local, stagedKey: staged.stagedKey }, uploaded: staged.uploaded };
          } catch (err) {
            if (err instanceof DbopsError && err.code === ErrorCode.ChecksumMismatch) throw err;
            // Nothing staged: drop the run's marker if it was written (else it would keep the object forever).
            await unstageSource(s3(), config.s3.bucket, input.backupPath, input.sha256, workflowId()).catch(
              () => undefined,
            );
            return {
              source: local,
              uploaded: false,
              warning: `the source backup could not be staged as s3://${config.s3.bucket}/${stagedKeyOf(input.sha256)} (${(err as Error).message}): every step that reads it ran on host ${hostId}`,
            };
          }
        }),
      );
    },

    /** The run's end: drops its claim on the staged source, and the object when no other run uses it. */
    async migrationUnstageSource(input: {
      backupPath: string;
      sha256: string;
    }): Promise<{ removed: boolean; usedBy: number }> {
      return withFailureMapping('migrationUnstageSource', () =>
        unstageSource(s3(), config.s3.bucket, input.backupPath, input.sha256, workflowId()),
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

    /**
     * Copies one chunk (idempotent through the ledger), heartbeating rows done. With `source` (a staged
     * backup) it runs on any worker: another host reads its cached copy of the staged object.
     */
    async migrationImportChunk(input: {
      target: string;
      staging: string;
      backupPath: string;
      table: TablePlan;
      chunk: ChunkPlan;
      source?: StagedSource;
    }): Promise<{ rows: number; skipped: boolean }> {
      return withFailureMapping(`migrationImportChunk ${input.table.name}#${input.chunk.index}`, () =>
        keepAlive({ table: input.table.name, chunk: input.chunk.index }, async () =>
          importChunk(
            postgres(input.target).pool,
            input.staging,
            await localSource(input.backupPath, input.source, hostId, cache),
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

    /** Row count and content checksum of one table on both sides (any worker, like import, with `source`). */
    async migrationVerifyTable(input: {
      target: string;
      staging: string;
      backupPath: string;
      table: TablePlan;
      source?: StagedSource;
    }): Promise<TableVerification> {
      return withFailureMapping(`migrationVerifyTable ${input.table.name}`, () =>
        keepAlive({ step: 'verify', table: input.table.name }, async () =>
          verifyTable(
            postgres(input.target).pool,
            input.staging,
            await localSource(input.backupPath, input.source, hostId, cache),
            input.table,
            cancellationSignal(),
          ),
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
