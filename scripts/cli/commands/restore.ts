/** `dbops restore <backup-id|target:latest> --target <db>`: starts `restoreBackup`. */
import type { Command } from 'commander';
import {
  inputProblems,
  RESTORE_WORKFLOW,
  type RestoreInput,
  restoreInputSchema,
  type RestoreResult,
} from '../../../common/contracts/backup';
import { DbopsError, ErrorCode } from '../../../common/errors';
import type { CliContext, CommandRunner } from '../context';
import { startWorkflow, withStartFlags, type StartFlags } from '../start-workflow';

interface RestoreFlags extends StartFlags {
  target: string;
  from?: 'local' | 's3';
  clean?: boolean;
  createDatabase?: boolean;
  overwriteSource?: boolean;
  allowUnverified?: boolean;
  jobs?: string;
}

/** Registers the command. */
export function registerRestore(program: Command, ctx: CliContext, run: CommandRunner): void {
  withStartFlags(
    program
      .command('restore')
      .description('restore a backup into a database (refuses a non-empty target without --clean, and the source)')
      .argument('<backup>', 'backup id <target>/<timestamp>, or <target>:latest (newest verified)')
      .requiredOption('--target <db>', 'connection name, URL without password, or SQLite path to restore into')
      .option('--from <where>', 'read the backup from local or s3 (default: local when present)')
      .option('--clean', 'drop the objects the backup holds before creating them (needed for a non-empty target)')
      .option('--create-database', 'create the target database when it does not exist')
      .option('--overwrite-source', 'allow restoring onto the database the backup was taken from')
      .option('--allow-unverified', 'restore a backup whose verification failed (refused otherwise)')
      .option('--jobs <n>', 'pg_restore parallel jobs (default 2)'),
  ).action((backup: string, flags: RestoreFlags) =>
    run(async () => {
      const input: RestoreInput = {
        backup,
        target: flags.target,
        ...(flags.from ? { from: flags.from } : {}),
        ...(flags.clean ? { clean: true } : {}),
        ...(flags.createDatabase ? { createDatabase: true } : {}),
        ...(flags.overwriteSource ? { overwriteSource: true } : {}),
        ...(flags.allowUnverified ? { allowUnverified: true } : {}),
        ...(flags.jobs !== undefined ? { jobs: Number(flags.jobs) } : {}),
      };
      const problems = inputProblems(restoreInputSchema, input);
      if (problems.length > 0)
        throw new DbopsError(ErrorCode.BadInput, `refused before starting: ${problems.join('; ')}`);
      return startWorkflow<RestoreInput, RestoreResult>(ctx, flags, {
        workflowType: RESTORE_WORKFLOW,
        idPrefix: 'restore',
        summary: `restore ${input.backup} → ${input.target}`,
        input,
        render: (r) => [
          `${r.status}: ${r.backupId} (${r.from}) → ${r.target}${r.createdDatabase ? ' (database created)' : ''}`,
          ...r.counts.map(
            (c) => `  ${c.expected === c.actual ? 'ok ' : 'BAD'} ${c.name.padEnd(32)} ${String(c.actual).padStart(10)}`,
          ),
        ],
      });
    }),
  );
}
