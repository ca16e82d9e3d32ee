/** `dbops signal <workflowId> <name> [--arg JSON]`: sends a signal the workflow declares. */
import type { Command } from 'commander';
import type { CliContext, CommandRunner } from '../context';
import { ExitCode, say, warn } from '../output';
import { rejectSecrets } from '../temporal-client';

const METADATA_QUERY = '__temporal_workflow_metadata';

interface WorkflowMetadata {
  definition?: { signalDefinitions?: { name: string; description?: string }[] };
}

/** Registers the command. */
export function registerSignal(program: Command, ctx: CliContext, run: CommandRunner): void {
  program
    .command('signal')
    .description('send a signal (e.g. rollback, approve, finalize) to a running workflow')
    .argument('<workflowId>')
    .argument('<name>', 'signal name')
    .option('--arg <json>', 'signal argument as JSON, e.g. \'{"reason":"bad data"}\'')
    .action((workflowId: string, name: string, flags: { arg?: string }) =>
      run(async () => {
        let arg: unknown;
        if (flags.arg !== undefined) {
          try {
            arg = JSON.parse(flags.arg);
          } catch (err) {
            warn(`--arg is not valid JSON (${(err as Error).message}); quote it, e.g. --arg '{"reason":"x"}'`);
            return ExitCode.Usage;
          }
        }
        if (flags.arg !== undefined) rejectSecrets([arg], `signal ${name}`);
        const client = await ctx.client();
        const handle = client.workflow.getHandle(workflowId);
        const description = await handle.describe();
        if (description.status.name !== 'RUNNING') {
          warn(`${workflowId} is ${description.status.name}, not running: a signal can no longer change it`);
          return ExitCode.Failed;
        }
        // The server accepts any signal name; ask the workflow which it handles so a typo is not lost.
        const declared = await client.connection
          .withDeadline(Date.now() + 3_000, () => handle.query<WorkflowMetadata>(METADATA_QUERY))
          .then((m) => m.definition?.signalDefinitions?.map((s) => s.name))
          .catch(() => undefined);
        if (declared && !declared.includes(name)) {
          warn(
            `${description.type} ${workflowId} has no signal "${name}"; it accepts: ${declared.join(', ') || 'none'}`,
          );
          return ExitCode.Usage;
        }
        await handle.signal(name, ...(flags.arg === undefined ? [] : [arg]));
        say(`sent ${name} to ${workflowId}`);
        return ExitCode.Ok;
      }),
    );
}
