/**
 * The `dbops` command line. Exit codes: 0 success, 1 the workflow failed or was rolled back (or Temporal
 * is unreachable), 2 bad usage or bad input refused before anything started.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { Command, CommanderError } from 'commander';
import { DbopsError, ErrorCode } from '../../common/errors';
import { redactSecrets } from '../../common/secret-guard';
import { registerAssess } from './commands/assess';
import { registerBackup } from './commands/backup';
import { registerCheck } from './commands/check';
import { registerList } from './commands/list';
import { registerMigrate } from './commands/migrate';
import { registerRestore } from './commands/restore';
import { registerResult } from './commands/result';
import { registerSchedule } from './commands/schedule';
import { registerSignal } from './commands/signal';
import { registerStatus } from './commands/status';
import { registerWatch } from './commands/watch';
import { CliContext } from './context';
import { ExitCode, printJson, summarizeFailure, warn } from './output';

const USAGE_CODES: ReadonlySet<string> = new Set([
  ErrorCode.BadInput,
  ErrorCode.SecretInInput,
  ErrorCode.ConfigInvalid,
]);

/** Runs the CLI with `argv` (as process.argv) and resolves to the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const ctx = new CliContext();
  let exitCode: number = ExitCode.Ok;
  const json = argv.includes('--json');
  const run = async (body: () => Promise<number>): Promise<void> => {
    try {
      exitCode = await body();
    } catch (err) {
      exitCode = reportError(err, json);
    }
  };

  const program = new Command('dbops')
    .description('durable database migrations, backups and assessments on Temporal')
    .showHelpAfterError('(run `npx dbops --help` for usage)')
    .exitOverride();
  for (const register of [
    registerMigrate,
    registerCheck,
    registerStatus,
    registerWatch,
    registerSignal,
    registerResult,
    registerList,
    registerBackup,
    registerRestore,
    registerSchedule,
    registerAssess,
  ]) {
    register(program, ctx, run);
  }
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      exitCode =
        err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help'
          ? ExitCode.Ok
          : ExitCode.Usage;
    } else {
      exitCode = reportError(err, json);
    }
  } finally {
    await ctx.close();
  }
  return exitCode;
}

function reportError(err: unknown, json: boolean): number {
  const code = err instanceof DbopsError && USAGE_CODES.has(err.code) ? ExitCode.Usage : ExitCode.Failed;
  const error =
    err instanceof DbopsError
      ? { type: err.code, message: err.message }
      : err instanceof WorkflowNotFoundError
        ? {
            type: 'WorkflowNotFound',
            message: `no workflow with id "${err.workflowId}": \`npx dbops list\` shows recent ones`,
          }
        : summarizeFailure(err);
  error.message = redactSecrets(error.message);
  if (json) printJson({ status: 'failed', error });
  else warn(`dbops: ${error.message}`);
  return code;
}

if (require.main === module) {
  runCli(process.argv).then(
    (code) => process.exit(code),
    (err: unknown) => {
      warn(`dbops: ${String((err as Error)?.stack ?? err)}`);
      process.exit(ExitCode.Failed);
    },
  );
}
