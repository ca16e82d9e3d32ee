/** `dbops list [--type T] [--json]`: recent dbops workflows, newest first. */
import type { Command } from 'commander';
import type { CliContext, CommandRunner } from '../context';
import { ExitCode, printJson, say, warn } from '../output';

/** Registers the command. */
export function registerList(program: Command, ctx: CliContext, run: CommandRunner): void {
  program
    .command('list')
    .description('list recent workflows')
    .option('--type <workflowType>', 'only this workflow type, e.g. connectionCheck')
    .option('--limit <n>', 'at most this many (default 20)', '20')
    .option('--json', 'print one JSON object: {"workflows":[...]}')
    .action((flags: { type?: string; limit: string; json?: boolean }) =>
      run(async () => {
        const limit = Number(flags.limit);
        if (!Number.isInteger(limit) || limit < 1) {
          warn(`--limit must be a positive whole number, got "${flags.limit}"`);
          return ExitCode.Usage;
        }
        if (flags.type !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(flags.type)) {
          warn(`--type must be a workflow type name such as connectionCheck, got "${flags.type}"`);
          return ExitCode.Usage;
        }
        const client = await ctx.client();
        const query = flags.type ? `WorkflowType = '${flags.type}'` : undefined;
        const workflows: Record<string, unknown>[] = [];
        for await (const wf of client.workflow.list(query ? { query } : {})) {
          const phase = wf.searchAttributes?.DbopsPhase;
          workflows.push({
            workflowId: wf.workflowId,
            runId: wf.runId,
            type: wf.type,
            status: wf.status.name,
            phase: Array.isArray(phase) ? (phase[0] ?? null) : null,
            startTime: wf.startTime.toISOString(),
            closeTime: wf.closeTime?.toISOString() ?? null,
          });
          if (workflows.length >= limit) break;
        }
        if (flags.json) printJson({ workflows });
        else if (workflows.length === 0) say('no workflows');
        else {
          for (const w of workflows) {
            say(
              `${String(w.startTime)}  ${String(w.status).padEnd(10)} ${String(w.type).padEnd(18)} ${String(w.phase ?? '-').padEnd(12)} ${String(w.workflowId)}`,
            );
          }
        }
        return ExitCode.Ok;
      }),
    );
}
