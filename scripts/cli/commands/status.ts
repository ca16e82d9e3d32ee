/** `dbops status <workflowId> [--json]`: describe + the `progress` query, with a `phase` even when no worker answers. */
import type { Command } from 'commander';
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { PROGRESS_QUERY, type Progress } from '../../../common/progress';
import type { CliContext, CommandRunner } from '../context';
import { ExitCode, printJson, say, warn } from '../output';
import { workflowUrl } from '../temporal-client';
import { recordedPhase } from '../watch-loop';

const QUERY_DEADLINE_MS = 3_000;

/** Registers the command. */
export function registerStatus(program: Command, ctx: CliContext, run: CommandRunner): void {
  program
    .command('status')
    .description("show a workflow's state and phase (describe + progress query)")
    .argument('<workflowId>')
    .option('--json', 'print one JSON object that includes "phase"')
    .action((workflowId: string, flags: { json?: boolean }) =>
      run(async () => {
        const client = await ctx.client();
        const handle = client.workflow.getHandle(workflowId);
        const description = await handle.describe();
        const progress = await queryProgress(client, workflowId);
        const status = {
          workflowId,
          runId: description.runId,
          type: description.type,
          status: description.status.name,
          phase: progress?.phase ?? phaseFromDescription(description),
          progress: progress ?? null,
          taskQueue: description.taskQueue,
          startTime: description.startTime.toISOString(),
          closeTime: description.closeTime?.toISOString() ?? null,
          historyLength: description.historyLength,
          url: workflowUrl(ctx.config, workflowId),
        };
        if (flags.json) printJson(status);
        else {
          say(`${status.workflowId}  ${status.type}  ${status.status}  phase=${status.phase}`);
          if (progress) {
            say(
              `  ${progress.message}${progress.total !== undefined ? ` (${progress.done ?? 0}/${progress.total})` : ''}`,
            );
          }
          say(`  started ${status.startTime}${status.closeTime ? `, closed ${status.closeTime}` : ''}`);
          say(`  ${status.url}`);
        }
        return ExitCode.Ok;
      }),
    );
}

/** The live progress, or undefined when no worker answers in time (a closed run needs a worker to replay). */
async function queryProgress(client: Client, workflowId: string): Promise<Progress | undefined> {
  try {
    return await client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
      client.workflow.getHandle(workflowId).query<Progress>(PROGRESS_QUERY),
    );
  } catch (err) {
    warn(`(no live progress: ${(err as Error).message.split('\n')[0]}; showing the last recorded phase)`);
    return undefined;
  }
}

/** The phase the workflow last recorded in its search attribute, else one derived from the status. */
function phaseFromDescription(description: WorkflowExecutionDescription): string {
  const recorded = recordedPhase(description);
  if (recorded) return recorded;
  switch (description.status.name) {
    case 'RUNNING':
      return 'running';
    case 'COMPLETED':
      return 'completed';
    default:
      return 'failed';
  }
}
