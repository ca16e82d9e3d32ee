/** `dbops result <workflowId> [--json]`: waits for the end and prints the result (exit 1 if it failed). */
import type { Command } from 'commander';
import type { CliContext, CommandRunner } from '../context';
import { reportResult } from '../start-workflow';

/** Registers the command. */
export function registerResult(program: Command, ctx: CliContext, run: CommandRunner): void {
  program
    .command('result')
    .description('wait for a workflow to finish and print its result')
    .argument('<workflowId>')
    .option('--json', 'print exactly one JSON object on stdout')
    .action((workflowId: string, flags: { json?: boolean }) =>
      run(async () => {
        const client = await ctx.client();
        const handle = client.workflow.getHandle(workflowId);
        await handle.describe(); // fails fast with "not found" instead of waiting
        return reportResult(workflowId, () => handle.result(), flags.json === true);
      }),
    );
}
