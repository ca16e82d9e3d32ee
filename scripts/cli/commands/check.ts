/** `dbops check [targets...]`: starts `connectionCheck` (every configured connection when none is named). */
import type { Command } from 'commander';
import { CHECK_WORKFLOW, type ConnectionCheckInput, type ConnectionCheckResult } from '../../../common/contracts/check';
import type { CliContext, CommandRunner } from '../context';
import { formatBytes } from '../output';
import { startWorkflow, withStartFlags, type StartFlags } from '../start-workflow';

/** Registers the command. */
export function registerCheck(program: Command, ctx: CliContext, run: CommandRunner): void {
  withStartFlags(
    program
      .command('check')
      .description('check that databases answer: version, database, size, latency')
      .argument('[targets...]', 'connection names or URLs without passwords (default: all configured)'),
  ).action((targets: string[], flags: StartFlags) =>
    run(() =>
      startWorkflow<ConnectionCheckInput, ConnectionCheckResult>(ctx, flags, {
        workflowType: CHECK_WORKFLOW,
        idPrefix: 'check',
        summary: `check ${targets.length > 0 ? targets.join(', ') : 'every configured connection'}`,
        input: { targets },
        succeeded: (result) => result.healthy,
        render: (result) =>
          result.targets.map((t) =>
            t.ok
              ? `ok    ${t.target.padEnd(14)} ${t.engine.padEnd(8)} ${t.version ?? ''}  ${t.database ?? ''}  ${formatBytes(t.sizeBytes)}  ${t.latencyMs} ms`
              : `DOWN  ${t.target.padEnd(14)} ${t.engine.padEnd(8)} ${t.error?.code}: ${t.error?.message}`,
          ),
      }),
    ),
  );
}
